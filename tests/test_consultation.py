"""The consulting room's session page: signing after a confirmation and never an
empty note, the read-only signed page, any number of prescription items and
services, the allergy warning, note templates, and the prescription a pharmacy
takes (number, prescriber, clinic)."""

from __future__ import annotations

import re
from datetime import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.tokens import issue_token
from doctors.models import Weekday
from payments.models import Invoice
from records.allergies import allergy_conflicts, matching_allergies
from records.exceptions import EmptyNote, RecordLocked, SessionClosed
from records.models import Allergy, ClinicalNote, MedicalRecord, NoteTemplate, Prescription
from records.rules import allergy_names
from records.services import replace_prescription_items, write_note
from scheduling.services import book_appointment, check_in, confirm_appointment
from sessions_app.models import Session, SessionStatus
from sessions_app.services import complete_session
from tests.clock import MONDAY, at
from tests.factories import PatientFactory, ServiceFactory, with_working_hours


@pytest.fixture(autouse=True)
def monday_morning(time_machine, settings):
    time_machine.move_to(at(MONDAY, 9, 50), tick=False)
    settings.SESSION_COOKIE_AGE = 24 * 60 * 60


@pytest.fixture
def session(doctor, doctor_client) -> Session:
    """Anna Reed's consultation with the doctor, started, nothing written yet."""
    with_working_hours(doctor, Weekday.MONDAY, ends=time(12))
    appointment = book_appointment(
        patient=PatientFactory(given_name="Anna", family_name="Reed"),
        doctor=doctor,
        service=ServiceFactory(name="Consultation"),
        starts_at=at(MONDAY, 10),
        booked_by=None,
    )
    confirm_appointment(appointment=appointment, by=None)
    check_in(appointment=appointment, by=None)
    doctor_client.post(reverse("sessions:start", args=[appointment.pk]))
    return Session.objects.get(appointment=appointment)


def url_of(session: Session) -> str:
    return reverse("records:session", args=[session.pk])


def item(index: int, medication: str, **fields: str) -> dict[str, str]:
    values = {
        "medication": medication,
        "strength": "500 mg",
        "dose": "1 tablet",
        "route": "oral",
        "frequency": "twice a day",
        "duration": "5 days",
        "quantity": "10",
        "instructions": "",
        **fields,
    }
    return {f"items-{index}-{name}": value for name, value in values.items()}


def page(session: Session, action: str, *, medications=("Paracetamol",), **overrides) -> dict:
    """The session page as the doctor posts it: a full note, one item per
    medication, the appointment's service once."""
    data = {
        "action": action,
        "note-subjective": "Cough for two weeks",
        "note-objective": "Chest clear",
        "note-assessment": "Viral bronchitis",
        "note-plan": "Rest, fluids",
        "items-TOTAL_FORMS": str(len(medications)),
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
        "performed-TOTAL_FORMS": "1",
        "performed-INITIAL_FORMS": "0",
        "performed-MIN_NUM_FORMS": "1",
        "performed-MAX_NUM_FORMS": "1000",
        "performed-0-service": str(session.appointment.service_id),
        "performed-0-quantity": "1",
    }
    for index, medication in enumerate(medications):
        data.update(item(index, medication))
    return {**data, **overrides}


def empty_note(**overrides) -> dict[str, str]:
    return {
        "note-subjective": "Feels tired",
        "note-objective": "",
        "note-assessment": "",
        "note-plan": "",
        **overrides,
    }


# Signing means something.


@pytest.mark.parametrize("action", ["review", "sign"])
def test_an_empty_note_is_not_signed_and_nothing_changes(doctor_client, session, action):
    response = doctor_client.post(url_of(session), page(session, action, **empty_note()))

    assert response.status_code == 400
    assert "Write an assessment or a plan before signing" in response.content.decode()
    session.refresh_from_db()
    assert session.status == SessionStatus.IN_PROGRESS
    assert not ClinicalNote.objects.filter(session=session).exists()
    assert not Prescription.objects.exists()


def test_a_note_with_a_plan_only_may_be_signed(doctor_client, session):
    data = page(session, "sign", **empty_note(**{"note-plan": "Bloods next week"}))

    doctor_client.post(url_of(session), data)

    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED


def test_completing_with_an_empty_note_is_refused_by_every_path(doctor, session):
    write_note(session=session, by=doctor.user, subjective="Feels tired")

    with pytest.raises(EmptyNote):
        complete_session(session=session, by=doctor.user)

    session.refresh_from_db()
    assert session.status == SessionStatus.IN_PROGRESS
    assert not ClinicalNote.objects.get(session=session).is_signed
    assert not Invoice.objects.exists()


def api_client(user) -> Client:
    _, token = issue_token(user=user, name="tests")
    return Client(headers={"Authorization": f"Bearer {token}"})


def test_the_api_cannot_complete_a_session_whose_note_is_empty(doctor, session):
    write_note(session=session, by=doctor.user, subjective="Feels tired")

    response = api_client(doctor.user).post(
        f"/api/v1/sessions/{session.pk}/complete", {}, content_type="application/json"
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "empty_note"
    session.refresh_from_db()
    assert session.status == SessionStatus.IN_PROGRESS


def test_complete_and_sign_shows_what_will_be_signed_and_changes_nothing(doctor_client, session):
    data = page(session, "review", medications=["Paracetamol", "Ibuprofen"])

    response = doctor_client.post(url_of(session), data)

    text = response.content.decode()
    assert response.status_code == 200
    assert "Check and sign" in text
    for shown in ("Viral bronchitis", "Rest, fluids", "Paracetamol 500 mg", "Ibuprofen", "1 × "):
        assert shown in text
    assert 'name="action" value="sign"' in text
    assert 'name="action" value="edit"' in text
    session.refresh_from_db()
    assert session.status == SessionStatus.IN_PROGRESS
    assert not ClinicalNote.objects.filter(session=session).exists()


def test_the_confirmation_carries_the_page_and_sign_signs_exactly_that(doctor_client, session):
    confirmation = doctor_client.post(
        url_of(session), page(session, "review", medications=["Paracetamol", "Ibuprofen"])
    ).content.decode()
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', confirmation))

    response = doctor_client.post(url_of(session), {**hidden, "action": "sign"}, follow=True)

    assert "Session completed; the note and prescription are signed." in response.content.decode()
    note = ClinicalNote.objects.get(session=session)
    assert (note.assessment, note.plan, note.is_signed) == (
        "Viral bronchitis",
        "Rest, fluids",
        True,
    )
    items = Prescription.objects.get(session=session).items.all()
    assert [i.medication for i in items] == ["Paracetamol", "Ibuprofen"]


def test_back_returns_to_the_page_as_typed(doctor_client, session):
    data = page(session, "edit", **{"note-assessment": "Asthma, mild"})

    response = doctor_client.post(url_of(session), data)

    text = response.content.decode()
    assert response.status_code == 200
    assert "Asthma, mild" in text
    assert 'name="note-assessment"' in text
    assert not ClinicalNote.objects.filter(session=session).exists()


@pytest.fixture
def signed(doctor_client, session) -> Session:
    doctor_client.post(url_of(session), page(session, "sign", medications=["Paracetamol"]))
    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED
    return session


def test_the_signed_page_shows_values_and_no_inputs(doctor_client, signed):
    response = doctor_client.get(url_of(signed))

    text = response.content.decode()
    assert "Viral bronchitis" in text
    assert "Paracetamol 500 mg" in text
    assert text.count('data-testid="signed-message"') == 1
    assert re.search(r"Signed by Dr \w+ at \d{4}-\d\d-\d\d \d\d:\d\d; add an addendum", text)
    assert reverse("records:chart", args=[signed.patient_id]) in text
    main = text.split("<main", 1)[1]
    assert "<textarea" not in main
    assert "<select" not in main
    assert not re.findall(r'<input(?![^>]*type="hidden")', main)
    assert "TOTAL_FORMS" not in main
    assert "disabled" not in main


def test_the_signed_page_keeps_its_addenda(doctor_client, signed):
    note = ClinicalNote.objects.get(session=signed)
    doctor_client.post(reverse("records:add_addendum", args=[note.pk]), {"text": "Also wheeze."})

    assert "Also wheeze." in doctor_client.get(url_of(signed)).content.decode()


def signed_content(session: Session) -> tuple:
    note = ClinicalNote.objects.get(session=session)
    prescription = Prescription.objects.get(session=session)
    return (
        [getattr(note, name) for name in ClinicalNote.CONTENT_FIELDS],
        note.signed_at,
        prescription.number,
        list(prescription.items.values_list("medication", "dose", "quantity")),
    )


@pytest.mark.parametrize("action", ["save", "review", "sign", "add_item", "edit"])
def test_signed_content_is_unchanged_by_any_page_post(doctor_client, signed, action):
    before = signed_content(signed)
    data = page(signed, action, medications=["Morphine"], **{"note-assessment": "Pneumonia"})

    response = doctor_client.post(url_of(signed), data)

    assert signed_content(signed) == before
    assert 'data-testid="session-readonly"' in response.content.decode()


def test_a_post_to_the_signed_page_says_why_it_was_refused(doctor_client, signed):
    data = page(signed, "save", **{"note-assessment": "Pneumonia"})

    response = doctor_client.post(url_of(signed), data)

    assert response.status_code == 400
    assert "add an addendum instead" in response.content.decode()


def test_signed_content_is_unchanged_by_the_services_the_api_and_the_admin(
    doctor, manager_client, signed
):
    before = signed_content(signed)
    note = ClinicalNote.objects.get(session=signed)
    prescription = Prescription.objects.get(session=signed)

    # The session is completed: its records are closed to writes, and locked.
    with pytest.raises(SessionClosed):
        write_note(session=signed, by=doctor.user, assessment="Pneumonia")
    with pytest.raises(SessionClosed):
        replace_prescription_items(
            prescription=prescription,
            by=doctor.user,
            items=[{"medication": "X", "dose": "1", "frequency": "daily"}],
        )
    note.assessment = "Pneumonia"
    with pytest.raises(RecordLocked):
        note.save()
    api = api_client(doctor.user).post(
        f"/api/v1/sessions/{signed.pk}/complete", {}, content_type="application/json"
    )
    admin = manager_client.post(
        reverse("admin:records_clinicalnote_change", args=[note.pk]), {"assessment": "Pneumonia"}
    )

    assert api.status_code == 409
    assert admin.status_code == 403
    assert signed_content(signed) == before


# Prescriptions fit to hand over.


def test_a_prescription_takes_any_number_of_items(doctor_client, session):
    drugs = [f"Drug {number}" for number in range(1, 13)]

    doctor_client.post(url_of(session), page(session, "save", medications=drugs))

    items = Prescription.objects.get(session=session).items.all()
    assert [i.medication for i in items] == drugs


def test_an_item_removed_on_the_page_is_gone(doctor_client, session):
    doctor_client.post(url_of(session), page(session, "save", medications=["A", "B", "C"]))
    ids = list(Prescription.objects.get(session=session).items.values_list("pk", flat=True))
    data = page(session, "save", medications=["A", "B", "C"], **{"items-INITIAL_FORMS": "3"})
    for index, pk in enumerate(ids):
        data[f"items-{index}-id"] = str(pk)
    data["items-1-DELETE"] = "on"

    doctor_client.post(url_of(session), data)

    items = Prescription.objects.get(session=session).items.all()
    assert [i.medication for i in items] == ["A", "C"]


def test_without_script_add_another_gives_one_more_blank_row_and_saves_nothing(
    doctor_client, session
):
    response = doctor_client.post(url_of(session), page(session, "add_item", medications=["A"]))

    text = response.content.decode()
    assert 'name="items-TOTAL_FORMS" value="2"' in text
    assert 'name="items-1-medication"' in text
    assert not Prescription.objects.exists()


def test_the_page_offers_rows_to_add_and_remove_by_script(doctor_client, session):
    text = doctor_client.get(url_of(session)).content.decode()

    assert 'data-formset="items"' in text
    assert 'data-formset="performed"' in text
    assert "items-__prefix__-medication" in text
    assert "performed-__prefix__-service" in text
    assert "js/formset" in text


def test_each_item_is_validated_and_its_error_shown_by_it(doctor_client, session):
    data = page(session, "save", medications=["Paracetamol", "Ibuprofen"])
    data["items-1-dose"] = ""
    data["items-1-quantity"] = "0"

    response = doctor_client.post(url_of(session), data)

    assert response.status_code == 400
    text = response.content.decode()
    second = text.split('name="items-1-medication"', 1)[1].split('name="items-2-', 1)[0]
    assert "This field is required." in second
    assert "greater than or equal to 1" in second
    assert not Prescription.objects.exists()
    assert not ClinicalNote.objects.filter(session=session).exists()


def test_a_dose_typed_without_a_medication_is_an_error_not_dropped(doctor_client, session):
    data = page(session, "save", medications=["Paracetamol", ""])

    response = doctor_client.post(url_of(session), data)

    assert response.status_code == 400
    assert not Prescription.objects.exists()


# Allergies.


def test_allergy_names_are_the_substances_recorded(doctor, session):
    record = MedicalRecord.objects.create(patient=session.patient)
    for substance in ("Penicillin", "Latex"):
        Allergy.objects.create(record=record, substance=substance, recorded_by=doctor.user)

    assert sorted(allergy_names(record)) == ["Latex", "Penicillin"]
    assert allergy_names(None) == []


@pytest.mark.parametrize(
    ("medication", "matched"),
    [
        ("Penicillin V", ["Penicillin (rash)"]),
        ("PENICILLIN", ["Penicillin (rash)"]),
        ("Pénicilline", ["pénicilline"]),
        ("penicilline", ["pénicilline"]),
        ("Aspirin", ["aspirin-induced asthma"]),
        ("Aspirinate", []),
        ("Amoxicillin", []),
        ("Ibuprofen", []),
    ],
)
def test_a_medication_matches_an_allergy_on_whole_words_ignoring_case_and_accents(
    medication, matched
):
    allergies = ["Penicillin (rash)", "pénicilline", "aspirin-induced asthma", "latex"]

    assert matching_allergies(medication, allergies) == matched


def test_allergy_conflicts_name_each_matching_medication():
    conflicts = allergy_conflicts(["Paracetamol", "Penicillin V"], ["penicillin"])

    assert conflicts == {"Penicillin V": ["penicillin"]}


@pytest.fixture
def allergic(session, doctor) -> Session:
    record = MedicalRecord.objects.create(patient=session.patient)
    Allergy.objects.create(record=record, substance="Penicillin", reaction="rash")
    Allergy.objects.create(record=record, substance="Latex")
    return session


def test_the_page_warns_by_the_item_that_matches_an_allergy(doctor_client, allergic):
    data = page(allergic, "save", medications=["Paracetamol", "Penicillin V"])
    doctor_client.post(url_of(allergic), data)

    text = doctor_client.get(url_of(allergic)).content.decode()

    assert 'data-testid="allergy-warning"' in text
    assert text.count('data-testid="item-allergy-warning"') == 1
    assert "Penicillin V matches the recorded allergy Penicillin." in text


def test_signing_a_drug_the_patient_is_allergic_to_needs_an_explicit_yes(doctor_client, allergic):
    data = page(allergic, "sign", medications=["Penicillin V"])

    refused = doctor_client.post(url_of(allergic), data)
    allergic.refresh_from_db()
    assert refused.status_code == 400
    assert "prescribe it anyway" in refused.content.decode()
    assert allergic.status == SessionStatus.IN_PROGRESS

    doctor_client.post(url_of(allergic), {**data, "prescribe_anyway": "1"})
    allergic.refresh_from_db()
    assert allergic.status == SessionStatus.COMPLETED


# Services performed.


def test_several_services_performed_are_billed_line_by_line(doctor_client, session):
    dressing = ServiceFactory(code="dressing", name="Dressing", price="15.00")
    data = page(
        session,
        "sign",
        **{
            "performed-TOTAL_FORMS": "2",
            "performed-1-service": str(dressing.pk),
            "performed-1-quantity": "2",
        },
    )

    doctor_client.post(url_of(session), data)

    invoice = Invoice.objects.get(session=session)
    lines = [(line.service.name, line.quantity) for line in invoice.lines.all()]
    assert lines == [("Consultation", 1), ("Dressing", 2)]
    assert "Dressing" in doctor_client.get(url_of(session)).content.decode()


# Note templates.


@pytest.fixture
def templates(session) -> dict[str, NoteTemplate]:
    other = ServiceFactory(code="vaccine", name="Vaccination")
    return {
        "general": NoteTemplate.objects.create(
            name="Follow-up", assessment="Stable.", plan="Review in 3 months."
        ),
        "mine": NoteTemplate.objects.create(
            name="Cough",
            service=session.appointment.service,
            subjective="Cough since …",
            objective="Chest: ",
            assessment="Viral URTI",
            plan="Fluids, rest",
        ),
        "other": NoteTemplate.objects.create(name="Jab", service=other, plan="Vaccine given."),
        "retired": NoteTemplate.objects.create(name="Old", plan="x", is_active=False),
    }


def test_an_empty_note_offers_the_templates_of_its_visit(doctor_client, session, templates):
    text = doctor_client.get(url_of(session)).content.decode()

    assert 'data-testid="template-picker"' in text
    assert ">Follow-up<" in text
    assert "Cough" in text
    assert ">Jab<" not in text
    assert ">Old<" not in text


def test_a_picked_template_fills_the_soap_fields(doctor_client, session, templates):
    response = doctor_client.get(url_of(session), {"template": templates["mine"].pk})

    text = response.content.decode()
    assert re.search(r'name="note-assessment"[^>]*>\s*Viral URTI</textarea>', text)
    assert re.search(r'name="note-plan"[^>]*>\s*Fluids, rest</textarea>', text)
    assert 'data-testid="template-applied"' in text
    assert not ClinicalNote.objects.filter(session=session).exists()


def test_a_template_not_offered_fills_nothing(doctor_client, session, templates):
    for wanted in (templates["other"].pk, templates["retired"].pk, "nope"):
        text = doctor_client.get(url_of(session), {"template": wanted}).content.decode()
        assert "not offered for this visit" in text
        assert "Vaccine given." not in text


def test_a_note_with_text_offers_no_template_and_takes_none(
    doctor, doctor_client, session, templates
):
    write_note(session=session, by=doctor.user, subjective="Headache")

    offered = doctor_client.get(url_of(session)).content.decode()
    picked = doctor_client.get(url_of(session), {"template": templates["mine"].pk}).content.decode()

    assert 'data-testid="template-picker"' not in offered
    assert "Viral URTI" not in picked
    assert "A template fills only an empty note." in picked


def test_managers_keep_note_templates_in_admin(manager_client, doctor_client, session):
    add = manager_client.post(
        reverse("admin:records_notetemplate_add"),
        {"name": "Back pain", "service": "", "is_active": "on", "plan": "Physio"},
    )
    empty = manager_client.post(
        reverse("admin:records_notetemplate_add"), {"name": "Nothing", "is_active": "on"}
    )

    assert add.status_code == 302
    assert NoteTemplate.objects.get(name="Back pain").plan == "Physio"
    assert empty.status_code == 200
    assert not NoteTemplate.objects.filter(name="Nothing").exists()
    assert doctor_client.get(reverse("admin:records_notetemplate_changelist")).status_code == 302


# The printed prescription.


def test_a_signed_prescription_gets_its_number(signed):
    prescription = Prescription.objects.get(session=signed)

    assert prescription.number == f"RX-2026-{prescription.pk:06d}"


def test_the_print_carries_what_a_pharmacy_needs(doctor, doctor_client, signed, settings):
    settings.CLINIC_NAME = "Riverside Clinic"
    settings.CLINIC_ADDRESS = "12 River Road, Springfield"
    settings.CLINIC_PHONE = "+1 555 0100"
    doctor.qualification = "MD, MRCP"
    doctor.registration_number = "GMC 7654321"
    doctor.save()
    prescription = Prescription.objects.get(session=signed)

    text = doctor_client.get(
        reverse("records:print_prescription", args=[prescription.pk])
    ).content.decode()

    for needed in (
        "Riverside Clinic",
        "12 River Road, Springfield",
        "+1 555 0100",
        f"{doctor.full_name}, MD, MRCP",
        "GMC 7654321",
        signed.patient.date_of_birth.strftime("%Y-%m-%d"),
        prescription.number,
        "2026-",
        "Paracetamol 500 mg",
        "signature-line",
    ):
        assert needed in text
    assert "<thead>" in text.split("Riverside Clinic")[0].rsplit("<table", 1)[1]


def test_the_session_page_runs_the_same_queries_however_many_items(doctor_client, session):
    doctor_client.post(url_of(session), page(session, "save", medications=["A"]))
    with CaptureQueriesContext(connection) as one:
        assert doctor_client.get(url_of(session)).status_code == 200
    many = [f"Drug {n}" for n in range(15)]
    doctor_client.post(url_of(session), page(session, "save", medications=many))

    with CaptureQueriesContext(connection) as fifteen:
        assert doctor_client.get(url_of(session)).status_code == 200

    assert len(fifteen) == len(one)


@pytest.mark.parametrize("prefix", ["items", "performed"])
def test_a_forged_row_count_is_refused_without_building_the_rows(doctor_client, session, prefix):
    data = page(session, "save", **{f"{prefix}-TOTAL_FORMS": "100000"})

    response = doctor_client.post(url_of(session), data)

    assert response.status_code == 400  # the page again, saying what is wrong
    formset = response.context["items" if prefix == "items" else "performed"]
    assert len(formset.forms) <= 50  # not a hundred thousand
    assert "at most" in " ".join(formset.non_form_errors())
    assert not Prescription.objects.filter(session=session, items__isnull=False).exists()


def test_without_script_add_another_stops_at_the_prescriptions_ceiling(doctor_client, session):
    data = page(session, "add_item", medications=[f"Drug {n}" for n in range(50)])

    response = doctor_client.post(url_of(session), data)

    assert len(response.context["items"].forms) == 50


def test_services_saved_mid_visit_are_kept_and_billed_at_completion(doctor, doctor_client, session):
    dressing = ServiceFactory(code="dressing", name="Dressing", price="15.00")
    two_lines = {
        "performed-TOTAL_FORMS": "2",
        "performed-1-service": str(dressing.pk),
        "performed-1-quantity": "2",
    }

    doctor_client.post(url_of(session), page(session, "save", **two_lines))
    shown = doctor_client.get(url_of(session)).context["performed"]

    kept = [(line.service.name, line.quantity) for line in session.performed.all()]
    assert kept == [("Consultation", 1), ("Dressing", 2)]
    assert [form.initial["service"] for form in shown.forms] == [
        session.appointment.service,
        dressing,
    ]
    # Completing without naming services (the API's way) bills what was kept.
    complete_session(session=session, by=doctor.user)
    invoice = Invoice.objects.get(session=session)
    assert [(line.service.name, line.quantity) for line in invoice.lines.all()] == kept
