"""Medical records (DESIGN.md section 6) through the records' services, selectors,
forms and admin: who may read and write clinical content, the signing and locking
of a completed session's note and prescriptions, addenda, and the access log.

The scene: Dr Alan Smith sees Jane Doe; the clock stands at 15:30 on Monday 2 March
2026 in New York unless a test moves it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from clinic.kernel.roles import DOCTORS, MANAGERS, RECEPTION
from records.exceptions import (
    AppendOnly,
    Forbidden,
    InvalidClinicalData,
    NotSigned,
    RecordLocked,
    SessionClosed,
)
from records.forms import ClinicalNoteForm, PrescriptionItemFormSet
from records.models import (
    AccessAction,
    AccessLog,
    Addendum,
    ClinicalNote,
    MedicalRecord,
    Prescription,
    Route,
)
from records.rules import allergy_names, can_write_session_records, session_write_refusal
from records.selectors import patient_chart, session_clinical_content
from records.services import (
    add_addendum,
    add_prescription,
    get_or_create_medical_record,
    replace_prescription_items,
    sign_session_records,
    update_medical_record,
    write_note,
)
from sessions_app.models import Session, SessionStatus
from sessions_app.signals import session_completed
from tests.clock import NEW_YORK
from tests.factories import (
    ClinicalNoteFactory,
    DoctorFactory,
    PatientFactory,
    PrescriptionItemFactory,
    SessionFactory,
    UserFactory,
)

NOW = datetime(2026, 3, 2, 15, 30, tzinfo=NEW_YORK)
AMOXICILLIN = {
    "medication": "Amoxicillin",
    "strength": "500 mg",
    "dose": "1 capsule",
    "route": Route.ORAL,
    "frequency": "three times a day",
    "duration": "7 days",
    "quantity": 21,
    "instructions": "After meals.",
}


@pytest.fixture(autouse=True)
def monday_afternoon(time_machine) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def jane(db):
    return PatientFactory(given_name="Jane", family_name="Doe")


@pytest.fixture
def session(doctor, jane):
    return SessionFactory(doctor=doctor, patient=jane, in_progress=True)


@pytest.fixture
def colleague(db):
    return DoctorFactory(given_name="Grace", family_name="Hopper")


def complete(session: Session, *, by) -> Session:
    """Complete the session as the sessions service does: change it, then send
    `session_completed` in the same transaction."""
    with transaction.atomic():
        Session.objects.filter(pk=session.pk).update(
            status=SessionStatus.COMPLETED, completed_at=timezone.now()
        )
        session.refresh_from_db()
        session_completed.send(sender=Session, session=session, by=by)
    return session


def log_entries(**filters) -> list[tuple]:
    return list(
        AccessLog.objects.filter(**filters)
        .order_by("pk")
        .values_list("user__username", "action", "object_type")
    )


# The medical record.


def test_a_patient_has_one_medical_record(doctor, jane):
    first = get_or_create_medical_record(patient=jane, by=doctor.user)
    again = get_or_create_medical_record(patient=jane, by=doctor.user)

    assert first == again
    assert MedicalRecord.objects.filter(patient=jane).count() == 1


def test_doctor_updates_the_medical_record_and_the_write_is_logged(doctor, jane, session):
    record = update_medical_record(
        patient=jane,
        by=doctor.user,
        allergies=[{"substance": " Penicillin "}],
        blood_type="A-",
        ip="10.0.0.7",
    )

    record.refresh_from_db()
    assert (allergy_names(record), record.blood_type, record.updated_by) == (
        ["Penicillin"],
        "A-",
        doctor.user,
    )
    entry = AccessLog.objects.get()
    assert (entry.user, entry.patient, entry.action, entry.object_type, entry.object_id) == (
        doctor.user,
        jane,
        AccessAction.WRITE,
        "records.medicalrecord",
        record.pk,
    )
    assert entry.ip_address == "10.0.0.7"


def test_manager_may_update_the_medical_record(manager, jane):
    update_medical_record(patient=jane, by=manager, chronic_conditions="Asthma")

    assert MedicalRecord.objects.get(patient=jane).chronic_conditions == "Asthma"


def test_reception_cannot_write_a_medical_record(receptionist, jane):
    with pytest.raises(Forbidden) as refused:
        update_medical_record(patient=jane, by=receptionist, allergies=[{"substance": "Latex"}])

    assert refused.value.code == "forbidden"
    assert not MedicalRecord.objects.exists()
    assert not AccessLog.objects.exists()


def test_an_unknown_blood_type_is_refused(doctor, jane, session):
    update_medical_record(patient=jane, by=doctor.user, blood_type="O+")

    with pytest.raises(InvalidClinicalData) as refused:
        update_medical_record(patient=jane, by=doctor.user, blood_type="Z")

    assert "blood_type" in refused.value.errors
    assert MedicalRecord.objects.get(patient=jane).blood_type == "O+"


# Clinical notes.


def test_the_sessions_doctor_writes_the_note(doctor, session):
    note = write_note(session=session, by=doctor.user, subjective="Headache", pulse=80)

    note.refresh_from_db()
    assert (note.session, note.author, note.subjective, note.pulse) == (
        session,
        doctor.user,
        "Headache",
        80,
    )
    assert note.signed_at is None
    assert log_entries() == [(doctor.user.username, "write", "records.clinicalnote")]


def test_writing_again_changes_the_same_note_and_keeps_other_fields(doctor, session):
    write_note(session=session, by=doctor.user, subjective="Headache", plan="Rest")
    write_note(session=session, by=doctor.user, plan="Paracetamol 1 g if needed")

    note = ClinicalNote.objects.get(session=session)
    assert (note.subjective, note.plan) == ("Headache", "Paracetamol 1 g if needed")


def test_another_doctor_cannot_write_the_note(colleague, session):
    with pytest.raises(Forbidden, match="Only Dr"):
        write_note(session=session, by=colleague.user, subjective="Headache")

    assert not ClinicalNote.objects.exists()
    assert not AccessLog.objects.exists()


def test_a_manager_cannot_write_the_note(manager, session):
    with pytest.raises(Forbidden):
        write_note(session=session, by=manager, subjective="Headache")


def test_no_note_is_written_once_the_session_is_completed(doctor, jane):
    finished = SessionFactory(doctor=doctor, patient=jane, completed=True)

    with pytest.raises(SessionClosed) as refused:
        write_note(session=finished, by=doctor.user, subjective="Late thought")

    assert refused.value.code == "session_closed"
    assert not ClinicalNote.objects.exists()


def test_one_rule_says_who_writes_a_sessions_records(doctor, colleague, manager, jane):
    """records.rules owns it: the service refuses, and the session page offers its
    forms, by the same predicate."""
    open_session = SessionFactory(doctor=doctor, patient=jane, in_progress=True)
    finished = SessionFactory(doctor=doctor, patient=jane, completed=True)

    assert can_write_session_records(session=open_session, user=doctor.user)
    assert isinstance(session_write_refusal(session=open_session, user=colleague.user), Forbidden)
    assert isinstance(session_write_refusal(session=open_session, user=manager), Forbidden)
    assert isinstance(session_write_refusal(session=finished, user=doctor.user), SessionClosed)
    assert not can_write_session_records(session=finished, user=doctor.user)


@pytest.mark.parametrize(
    ("vitals", "field"),
    [
        ({"pulse": 400}, "pulse"),
        ({"temperature_c": Decimal("47.5")}, "temperature_c"),
        ({"weight_kg": Decimal("0")}, "weight_kg"),
        ({"bp_systolic": 350, "bp_diastolic": 80}, "bp_systolic"),
    ],
)
def test_vitals_out_of_range_are_refused(doctor, session, vitals, field):
    with pytest.raises(InvalidClinicalData) as refused:
        write_note(session=session, by=doctor.user, **vitals)

    assert field in refused.value.errors
    assert not ClinicalNote.objects.exists()


@pytest.mark.parametrize(
    "pressure", [{"bp_systolic": 120}, {"bp_systolic": 80, "bp_diastolic": 90}]
)
def test_blood_pressure_needs_both_values_systolic_above_diastolic(doctor, session, pressure):
    with pytest.raises(InvalidClinicalData, match="systolic above the diastolic"):
        write_note(session=session, by=doctor.user, **pressure)


def test_the_database_refuses_vitals_out_of_range(session):
    note = ClinicalNoteFactory(session=session)

    with pytest.raises(IntegrityError), transaction.atomic():
        ClinicalNote.objects.filter(pk=note.pk).update(pulse=999)


# Prescriptions.


def test_the_sessions_doctor_prescribes(doctor, session):
    prescription = add_prescription(
        session=session,
        by=doctor.user,
        items=[AMOXICILLIN, {**AMOXICILLIN, "medication": "Ibuprofen", "quantity": 10}],
    )

    assert [item.medication for item in prescription.items.all()] == ["Amoxicillin", "Ibuprofen"]
    assert prescription.created_by == doctor.user
    assert log_entries() == [(doctor.user.username, "write", "records.prescription")]


def test_a_session_may_have_several_prescriptions(doctor, session):
    add_prescription(session=session, by=doctor.user, items=[AMOXICILLIN])
    add_prescription(session=session, by=doctor.user, items=[AMOXICILLIN])

    assert session.prescriptions.count() == 2


def test_a_prescription_needs_an_item(doctor, session):
    with pytest.raises(InvalidClinicalData, match="at least one medication"):
        add_prescription(session=session, by=doctor.user, items=[])

    assert not Prescription.objects.exists()


def test_an_invalid_item_refuses_the_whole_prescription(doctor, session):
    with pytest.raises(InvalidClinicalData, match="Item 2") as refused:
        add_prescription(
            session=session,
            by=doctor.user,
            items=[AMOXICILLIN, {**AMOXICILLIN, "route": "by pigeon", "quantity": 0}],
        )

    assert set(refused.value.errors) == {"Item 2"}
    assert not Prescription.objects.exists()


def test_another_doctor_cannot_prescribe(colleague, session):
    with pytest.raises(Forbidden):
        add_prescription(session=session, by=colleague.user, items=[AMOXICILLIN])

    assert not Prescription.objects.exists()


def test_unsigned_prescription_items_can_be_replaced(doctor, session):
    prescription = add_prescription(session=session, by=doctor.user, items=[AMOXICILLIN])

    replace_prescription_items(
        prescription=prescription,
        by=doctor.user,
        items=[{**AMOXICILLIN, "medication": "Azithromycin", "quantity": 3}],
    )

    assert list(prescription.items.values_list("medication", "quantity")) == [("Azithromycin", 3)]


# Signing on completion.


def test_completing_the_session_signs_its_note_and_prescriptions(doctor, session):
    write_note(session=session, by=doctor.user, assessment="Migraine")
    first = add_prescription(session=session, by=doctor.user, items=[AMOXICILLIN])
    second = add_prescription(session=session, by=doctor.user, items=[AMOXICILLIN])

    complete(session, by=doctor.user)

    signed = [ClinicalNote.objects.get(session=session), *Prescription.objects.all()]
    assert [(row.signed_at, row.signed_by) for row in signed] == [(NOW, doctor.user)] * 3
    assert {first, second} == set(Prescription.objects.all())
    assert AccessLog.objects.filter(action=AccessAction.SIGN).count() == 3


def test_signing_is_idempotent(doctor, session, time_machine):
    write_note(session=session, by=doctor.user, assessment="Migraine")
    complete(session, by=doctor.user)
    time_machine.move_to(datetime(2026, 3, 2, 17, tzinfo=NEW_YORK), tick=False)

    assert sign_session_records(session=session, by=doctor.user) == 0
    assert ClinicalNote.objects.get(session=session).signed_at == NOW


def test_records_are_signed_only_when_the_session_is_completed(doctor, session):
    write_note(session=session, by=doctor.user, assessment="Migraine")

    with pytest.raises(SessionClosed):
        sign_session_records(session=session, by=doctor.user)

    assert ClinicalNote.objects.get(session=session).signed_at is None


def test_a_signed_note_cannot_be_changed_through_the_service(doctor, session):
    write_note(session=session, by=doctor.user, assessment="Migraine")
    complete(session, by=doctor.user)
    # Even were the session reopened, the signature holds.
    Session.objects.filter(pk=session.pk).update(status=SessionStatus.IN_PROGRESS)

    with pytest.raises(RecordLocked) as refused:
        write_note(session=session, by=doctor.user, assessment="Tension headache")

    assert str(refused.value) == (
        "This note was signed on 02 Mar 2026 at 15:30; add an addendum instead."
    )
    assert refused.value.code == "locked"
    assert ClinicalNote.objects.get(session=session).assessment == "Migraine"


def test_a_signed_prescription_cannot_be_changed(doctor, session):
    prescription = add_prescription(session=session, by=doctor.user, items=[AMOXICILLIN])
    complete(session, by=doctor.user)
    Session.objects.filter(pk=session.pk).update(status=SessionStatus.IN_PROGRESS)

    with pytest.raises(RecordLocked):
        replace_prescription_items(prescription=prescription, by=doctor.user, items=[AMOXICILLIN])

    assert prescription.items.count() == 1


def test_a_signed_note_refuses_a_save_from_any_path(doctor, session):
    note = ClinicalNoteFactory(session=session)
    complete(session, by=doctor.user)

    note.assessment = "Edited in the shell"
    with pytest.raises(RecordLocked):
        note.save()
    with pytest.raises(RecordLocked):
        note.delete()

    assert ClinicalNote.objects.get(pk=note.pk).assessment == "Viral bronchitis."


def test_a_signed_prescription_refuses_new_items(doctor, session):
    item = PrescriptionItemFactory(prescription__session=session)
    complete(session, by=doctor.user)

    with pytest.raises(RecordLocked):
        PrescriptionItemFactory(prescription=item.prescription)


# Addenda.


@pytest.fixture
def signed_note(doctor, session):
    note = write_note(session=session, by=doctor.user, assessment="Migraine")
    complete(session, by=doctor.user)
    note.refresh_from_db()
    return note


def test_an_addendum_is_added_to_a_signed_note(doctor, signed_note, time_machine):
    add_addendum(note=signed_note, by=doctor.user, text="  MRI normal.  ")
    time_machine.move_to(datetime(2026, 3, 3, 9, tzinfo=NEW_YORK), tick=False)
    add_addendum(note=signed_note, by=doctor.user, text="Symptoms resolved.")

    assert list(signed_note.addenda.values_list("text", "author")) == [
        ("MRI normal.", doctor.user.pk),
        ("Symptoms resolved.", doctor.user.pk),
    ]
    assert AccessLog.objects.filter(action=AccessAction.ADDENDUM).count() == 2
    assert ClinicalNote.objects.get(pk=signed_note.pk).assessment == "Migraine"


def test_a_colleague_doctor_cannot_add_an_addendum(colleague, signed_note):
    # Only the note's author or a manager: a colleague writes their own note.
    with pytest.raises(Forbidden):
        add_addendum(note=signed_note, by=colleague.user, text="Seen at follow-up.")

    assert not Addendum.objects.exists()
    assert not AccessLog.objects.filter(action=AccessAction.ADDENDUM).exists()


def test_a_manager_may_add_an_addendum(manager, signed_note):
    addendum = add_addendum(note=signed_note, by=manager, text="Author on leave; see letter.")

    assert addendum.author == manager
    assert log_entries(action=AccessAction.ADDENDUM) == [
        (manager.username, "addendum", "records.addendum")
    ]


def test_reception_cannot_add_an_addendum(receptionist, signed_note):
    with pytest.raises(Forbidden):
        add_addendum(note=signed_note, by=receptionist, text="Looks fine to me.")

    assert not Addendum.objects.exists()


def test_an_addendum_needs_text(doctor, signed_note):
    with pytest.raises(InvalidClinicalData):
        add_addendum(note=signed_note, by=doctor.user, text="   ")

    assert not Addendum.objects.exists()


def test_an_unsigned_note_takes_no_addendum(doctor, session):
    note = write_note(session=session, by=doctor.user, assessment="Migraine")

    with pytest.raises(NotSigned) as refused:
        add_addendum(note=note, by=doctor.user, text="More.")

    assert refused.value.code == "not_signed"
    assert not Addendum.objects.exists()


# Reading: who may, and the log.


def test_a_doctor_reads_their_patients_chart_and_the_read_is_logged(doctor, signed_note, jane):
    add_addendum(note=signed_note, by=doctor.user, text="Seen at follow-up.")

    chart = patient_chart(patient=jane, user=doctor.user, ip="10.0.0.9")

    [seen] = chart.sessions
    assert seen.clinical_note.assessment == "Migraine"
    assert [addendum.text for addendum in seen.clinical_note.addenda.all()] == [
        "Seen at follow-up."
    ]
    read = AccessLog.objects.filter(action=AccessAction.READ).get()
    assert (read.user, read.patient, read.description, read.ip_address) == (
        doctor.user,
        jane,
        "chart",
        "10.0.0.9",
    )


def test_a_manager_reads_a_sessions_clinical_content(manager, doctor, session):
    write_note(session=session, by=doctor.user, assessment="Migraine")
    add_prescription(session=session, by=doctor.user, items=[AMOXICILLIN])

    content = session_clinical_content(session=session, user=manager)

    assert content.note.assessment == "Migraine"
    assert [item.medication for item in content.prescriptions[0].items.all()] == ["Amoxicillin"]
    assert log_entries(action=AccessAction.READ) == [
        (manager.username, "read", "sessions_app.session")
    ]


def test_reception_cannot_read_clinical_content(receptionist, doctor, session, jane):
    write_note(session=session, by=doctor.user, assessment="Migraine")

    with pytest.raises(Forbidden) as refused:
        patient_chart(patient=jane, user=receptionist)
    with pytest.raises(Forbidden):
        session_clinical_content(session=session, user=receptionist)

    assert refused.value.code == "forbidden"
    assert not AccessLog.objects.filter(action=AccessAction.READ).exists()


def test_a_login_without_a_role_cannot_read_clinical_content(jane):
    with pytest.raises(Forbidden):
        patient_chart(patient=jane, user=UserFactory())


def _history(doctor, jane, visits: int) -> None:
    for _ in range(visits):
        visit = SessionFactory(doctor=doctor, patient=jane, completed=True)
        note = ClinicalNoteFactory(session=visit)
        Addendum.objects.create(note=note, author=doctor.user, text="Follow-up call.")
        PrescriptionItemFactory.create_batch(2, prescription__session=visit)


@pytest.mark.parametrize("visits", [2, 10])
def test_the_chart_runs_a_fixed_number_of_queries(django_assert_num_queries, doctor, jane, visits):
    _history(doctor, jane, visits)
    get_or_create_medical_record(patient=jane, by=doctor.user)

    # Whether Jane is the doctor's own patient, the record, its allergies, its
    # history, the sessions with their notes, addenda, prescriptions, items, and the
    # log entry; the permission check is cached on the user already.
    with django_assert_num_queries(9):
        chart = patient_chart(patient=jane, user=doctor.user)
        for visit in chart.sessions:
            list(visit.clinical_note.addenda.all())
            for prescription in visit.prescriptions.all():
                list(prescription.items.all())

    assert len(chart.sessions) == visits


# The access log is append-only.


@pytest.fixture
def entry(doctor, session):
    write_note(session=session, by=doctor.user, assessment="Migraine")
    return AccessLog.objects.get()


def test_an_access_log_entry_cannot_be_changed(entry):
    entry.action = AccessAction.READ
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        AccessLog.objects.filter(pk=entry.pk).update(action=AccessAction.READ)

    assert AccessLog.objects.get().action == AccessAction.WRITE


def test_an_access_log_entry_cannot_be_deleted(entry):
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AccessLog.objects.all().delete()

    assert AccessLog.objects.count() == 1


def test_the_admin_offers_no_change_of_the_access_log_even_to_a_superuser(db):
    request = RequestFactory().get("/")
    request.user = UserFactory(is_superuser=True, is_staff=True)
    log_admin = admin.site._registry[AccessLog]

    assert not log_admin.has_add_permission(request)
    assert not log_admin.has_change_permission(request)
    assert not log_admin.has_delete_permission(request)


def test_the_manager_searches_the_access_log_by_patient(manager_client, entry):
    response = manager_client.get(
        reverse("admin:records_accesslog_changelist"), {"q": "Doe", "action": "write"}
    )

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_the_manager_cannot_delete_an_access_log_entry_in_the_admin(manager_client, entry):
    url = reverse("admin:records_accesslog_delete", args=[entry.pk])

    assert manager_client.post(url, {"post": "yes"}).status_code == 403
    assert AccessLog.objects.filter(pk=entry.pk).exists()


# Forms and the admin refuse a signed note.


def test_the_note_form_refuses_a_signed_note(signed_note):
    form = ClinicalNoteForm(data={"assessment": "Tension headache"}, instance=signed_note)

    assert not form.is_valid()
    assert "add an addendum instead" in form.non_field_errors()[0]
    assert ClinicalNote.objects.get(pk=signed_note.pk).assessment == "Migraine"


def test_the_note_form_accepts_an_unsigned_note(session):
    form = ClinicalNoteForm(
        data={"assessment": "Migraine", "bp_systolic": 120, "bp_diastolic": 80},
        instance=ClinicalNote(session=session),
    )

    assert form.is_valid(), form.errors


def test_the_items_formset_refuses_a_signed_prescription(doctor, session):
    prescription = add_prescription(session=session, by=doctor.user, items=[AMOXICILLIN])
    complete(session, by=doctor.user)
    data = {
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "1",
        "items-MAX_NUM_FORMS": "1000",
        **{f"items-0-{name}": value for name, value in AMOXICILLIN.items()},
    }

    formset = PrescriptionItemFormSet(data=data, instance=prescription, prefix="items")

    assert not formset.is_valid()
    assert "was signed on" in formset.non_form_errors()[0]


def test_a_manager_cannot_edit_a_signed_note_in_the_admin(manager_client, signed_note):
    url = reverse("admin:records_clinicalnote_change", args=[signed_note.pk])

    response = manager_client.post(url, {"assessment": "Edited by the manager"})

    assert response.status_code == 403
    assert ClinicalNote.objects.get(pk=signed_note.pk).assessment == "Migraine"


def test_opening_a_note_in_the_admin_is_a_logged_read(manager, manager_client, signed_note):
    url = reverse("admin:records_clinicalnote_change", args=[signed_note.pk])

    response = manager_client.get(url)

    assert response.status_code == 200
    assert b"Migraine" in response.content
    assert log_entries(action=AccessAction.READ) == [
        (manager.username, "read", "records.clinicalnote")
    ]


def test_the_manager_saves_a_medical_record_in_the_admin_through_the_service(
    manager, manager_client, jane
):
    record = MedicalRecord.objects.create(patient=jane)
    url = reverse("admin:records_medicalrecord_change", args=[record.pk])

    response = manager_client.post(
        url,
        {
            "no_known_allergies": "on",
            "blood_type": "B+",
            # The read-only inlines' (allergies, history) management forms.
            "allergies-TOTAL_FORMS": "0",
            "allergies-INITIAL_FORMS": "0",
            "changes-TOTAL_FORMS": "0",
            "changes-INITIAL_FORMS": "0",
            "chronic_conditions": "",
            "current_medications": "",
            "notes": "",
        },
    )

    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.no_known_allergies, record.blood_type, record.updated_by) == (
        True,
        "B+",
        manager,
    )
    assert log_entries(action=AccessAction.WRITE) == [
        (manager.username, "write", "records.medicalrecord")
    ]


# Roles.


def test_doctors_and_managers_hold_the_records_permissions_and_reception_none(db):
    # Managers hold the doctors' records permissions, and three of their own.
    def codenames(role: str) -> set[str]:
        return set(
            Group.objects.get(name=role)
            .permissions.filter(content_type__app_label="records")
            .values_list("codename", flat=True)
        )

    assert {"view_clinicalnote", "add_addendum", "view_accesslog"} <= codenames(DOCTORS)
    assert codenames(MANAGERS) - codenames(DOCTORS) == {
        "read_any_chart",
        "add_addendum_to_any_note",
        "view_emergencyaccess",
    }
    assert codenames(DOCTORS) <= codenames(MANAGERS)
    assert not {"change_accesslog", "delete_accesslog"} & codenames(MANAGERS)
    assert codenames(RECEPTION) == set()
