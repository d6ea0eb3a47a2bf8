"""Managers merge a patient registered twice: every row that names the duplicate
moves to the kept patient in one transaction, the duplicate stays as an inactive
pointer, the merge is audited, and an overlap refuses it with nothing changed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from clinic.tokens import issue_token
from doctors.models import Weekday
from notifications.models import Notification
from online.models import WaitlistEntry
from patients.exceptions import PatientMergeRefused
from patients.models import Patient, PatientMerge
from patients.selectors import search_patients
from patients.services import merge_patients, plan_merge
from payments.models import Invoice
from records.models import AccessLog, MedicalRecord
from scheduling.exceptions import Unavailable
from scheduling.models import Appointment
from scheduling.services import book_appointment
from sessions_app.models import Session
from tests.factories import (
    AllergyFactory,
    AppointmentFactory,
    DoctorFactory,
    InvoiceFactory,
    MedicalRecordFactory,
    NotificationFactory,
    PatientFactory,
    ServiceFactory,
    SessionFactory,
    with_working_hours,
)

TEN = datetime(2026, 12, 7, 15, tzinfo=UTC)


@pytest.fixture
def kept(db) -> Patient:
    return PatientFactory(
        given_name="Siobhán", family_name="D'Arcy", date_of_birth=date(1979, 4, 2)
    )


@pytest.fixture
def twin(db) -> Patient:
    return PatientFactory(given_name="Siobhan", family_name="Darcy", date_of_birth=date(1979, 4, 2))


@pytest.fixture
def twin_history(twin) -> dict[str, object]:
    """The duplicate's visit, its invoice, a coming appointment, a text and a chart."""
    visit = SessionFactory(patient=twin, completed=True)
    return {
        "invoice": InvoiceFactory(session=visit),
        "coming": AppointmentFactory(patient=twin, starts_at=TEN),
        "message": NotificationFactory(patient=twin),
        "record": MedicalRecordFactory(patient=twin, allergy__substance="Latex", blood_type=""),
        "visit": visit,
        "waiting": WaitlistEntry.objects.create(
            patient=twin,
            service=ServiceFactory(),
            date_from=TEN.date(),
            date_to=TEN.date() + timedelta(days=14),
            source=WaitlistEntry.Source.DESK,
        ),
    }


def test_merge_moves_every_kind_of_row_to_the_kept_patient(kept, twin, twin_history, manager):
    merge = merge_patients(kept=kept, merged=twin, by=manager)

    assert set(Appointment.objects.values_list("patient", flat=True)) == {kept.pk}
    assert set(Session.objects.values_list("patient", flat=True)) == {kept.pk}
    assert set(Invoice.objects.values_list("patient", flat=True)) == {kept.pk}
    assert set(Notification.objects.values_list("patient", flat=True)) == {kept.pk}
    assert MedicalRecord.objects.get().patient == kept
    assert WaitlistEntry.objects.get().patient == kept
    assert merge.moved == {
        "appointments": 2,
        "sessions": 1,
        "invoices": 1,
        "medical records": 1,
        "messages": 1,
        "waitlist places": 1,
    }


def test_the_duplicate_stays_inactive_pointing_at_the_kept_one(kept, twin, manager):
    merge_patients(kept=kept, merged=twin, by=manager)

    twin.refresh_from_db()
    assert twin.merged_into == kept
    assert list(search_patients(query="darcy")) == [kept]


def test_api_says_which_patient_a_merged_one_became(kept, twin, manager):
    _, token = issue_token(user=manager, name="tests")
    api = Client(headers={"Authorization": f"Bearer {token}"})
    merge_patients(kept=kept, merged=twin, by=manager)

    assert api.get(f"/api/v1/patients/{twin.pk}").json()["merged_into"] == kept.pk
    assert api.get(f"/api/v1/patients/{kept.pk}").json()["merged_into"] is None


def test_the_merge_is_audited(kept, twin, manager, time_machine):
    time_machine.move_to(datetime(2026, 11, 30, 15, tzinfo=UTC), tick=False)

    merge_patients(kept=kept, merged=twin, by=manager)

    merge = PatientMerge.objects.get()
    assert (merge.kept, merge.merged, merge.merged_by) == (kept, twin, manager)
    assert merge.merged_at == datetime(2026, 11, 30, 15, tzinfo=UTC)


def test_a_merged_away_patient_cannot_be_booked(kept, twin, manager):
    merge_patients(kept=kept, merged=twin, by=manager)
    twin.refresh_from_db()
    doctor = with_working_hours(DoctorFactory(), Weekday.MONDAY)

    with pytest.raises(Unavailable, match=f"merged into patient #{kept.pk}"):
        book_appointment(
            patient=twin,
            doctor=doctor,
            service=ServiceFactory(),
            starts_at=TEN,
            booked_by=manager,
        )
    assert not Appointment.objects.exists()


def test_two_medical_records_are_combined_and_logged(kept, twin, manager):
    MedicalRecordFactory(patient=kept, blood_type="O+")  # Penicillin (moderate: rash)
    twins = MedicalRecordFactory(
        patient=twin, allergy__substance="Latex", blood_type="", chronic_conditions=""
    )
    AllergyFactory(record=twins, substance="PENICILLIN", severity="mild", reaction="itching")

    merge_patients(kept=kept, merged=twin, by=manager)

    record = MedicalRecord.objects.get(patient=kept)
    # Latex joins; the kept record's own penicillin entry stands.
    assert [str(allergy) for allergy in record.allergies.all()] == [
        "Latex (Moderate: rash)",
        "Penicillin (Moderate: rash)",
    ]
    assert not record.no_known_allergies
    assert record.blood_type == "O+"
    assert record.chronic_conditions == "Asthma"
    assert AccessLog.objects.filter(patient=kept, user=manager, action="write").exists()
    assert AccessLog.objects.filter(patient=twin, user=manager, action="read").exists()


def test_records_with_different_blood_types_refuse_the_merge(kept, twin, manager):
    MedicalRecordFactory(patient=kept, blood_type="O+")
    MedicalRecordFactory(patient=twin, blood_type="A-")

    with pytest.raises(PatientMergeRefused, match="different blood types"):
        merge_patients(kept=kept, merged=twin, by=manager)

    assert not PatientMerge.objects.exists()
    twin.refresh_from_db()
    assert twin.merged_into is None


def test_overlapping_appointments_refuse_the_merge_and_change_nothing(kept, twin, manager):
    AppointmentFactory(patient=kept, starts_at=TEN)
    theirs = AppointmentFactory(patient=twin, starts_at=TEN + timedelta(minutes=15))
    NotificationFactory(patient=twin)

    with pytest.raises(PatientMergeRefused, match="both have an appointment at"):
        merge_patients(kept=kept, merged=twin, by=manager)

    theirs.refresh_from_db()
    assert theirs.patient == twin
    assert Notification.objects.get().patient == twin
    twin.refresh_from_db()
    assert twin.merged_into is None
    assert not PatientMerge.objects.exists()


def test_a_cancelled_appointment_at_the_same_time_does_not_refuse(kept, twin, manager):
    AppointmentFactory(patient=kept, starts_at=TEN)
    AppointmentFactory(patient=twin, starts_at=TEN, status="cancelled")

    merge_patients(kept=kept, merged=twin, by=manager)

    assert Appointment.objects.filter(patient=kept).count() == 2


def test_back_to_back_appointments_do_not_refuse(kept, twin, manager):
    first = AppointmentFactory(patient=kept, starts_at=TEN)
    AppointmentFactory(patient=twin, starts_at=first.ends_at)

    merge_patients(kept=kept, merged=twin, by=manager)


def test_two_sessions_in_progress_are_refused_by_the_database(kept, twin, manager):
    SessionFactory(patient=kept, in_progress=True)
    SessionFactory(patient=twin, in_progress=True)

    with pytest.raises(PatientMergeRefused, match="at the same time"):
        merge_patients(kept=kept, merged=twin, by=manager)

    assert Session.objects.filter(patient=twin).count() == 1


@pytest.mark.parametrize("case", ["same", "already merged"])
def test_a_patient_is_not_merged_with_itself_or_twice(kept, twin, manager, case):
    if case == "already merged":
        merge_patients(kept=kept, merged=twin, by=manager)
        other = PatientFactory()
        with pytest.raises(PatientMergeRefused, match="already been merged"):
            merge_patients(kept=other, merged=twin, by=manager)
    else:
        with pytest.raises(PatientMergeRefused, match="two different patients"):
            merge_patients(kept=kept, merged=kept, by=manager)


def test_the_plan_counts_what_would_move_and_changes_nothing(kept, twin, twin_history):
    assert dict(plan_merge(kept=kept, merged=twin)) == {
        "appointments": 2,
        "sessions": 1,
        "invoices": 1,
        "medical records": 1,
        "messages": 1,
        "waitlist places": 1,
    }
    assert not Patient.objects.filter(merged_into__isnull=False).exists()


# --- The manager's pages ----------------------------------------------------------------


def test_manager_finds_the_duplicate_from_the_kept_patient(manager_client, kept, twin):
    response = manager_client.get(reverse("patients:merge", args=[kept.pk]), {"q": "darcy"})

    assert list(response.context["matches"]) == [twin]
    assert reverse("patients:merge_confirm", args=[kept.pk, twin.pk]) in response.content.decode()


def test_confirmation_page_shows_what_moves(
    manager_client, kept, twin, twin_history, django_assert_max_num_queries
):
    with django_assert_max_num_queries(15):
        response = manager_client.get(reverse("patients:merge_confirm", args=[kept.pk, twin.pk]))

    page = response.content.decode()
    assert "Appointments: 2" in page
    assert "Invoices: 1" in page
    assert "Medical records: 1" in page
    assert f"Merge #{twin.pk} into the kept patient</button>" in page
    assert not PatientMerge.objects.exists()


def test_confirmation_page_says_why_a_merge_is_refused(manager_client, kept, twin):
    AppointmentFactory(patient=kept, starts_at=TEN)
    AppointmentFactory(patient=twin, starts_at=TEN, doctor=DoctorFactory())

    response = manager_client.get(reverse("patients:merge_confirm", args=[kept.pk, twin.pk]))

    page = response.content.decode()
    assert "cannot be merged" in page
    assert "into the kept patient</button>" not in page


def test_manager_merges_and_lands_on_the_kept_patient(manager_client, kept, twin):
    response = manager_client.post(
        reverse("patients:merge_confirm", args=[kept.pk, twin.pk]), follow=True
    )

    assert response.redirect_chain[-1][0] == kept.get_absolute_url()
    assert "is merged into Siobhán D&#x27;Arcy" in response.content.decode()
    twin.refresh_from_db()
    assert twin.merged_into == kept


def test_the_merged_patient_page_points_to_the_kept_one(manager_client, kept, twin, manager):
    merge_patients(kept=kept, merged=twin, by=manager)

    page = manager_client.get(twin.get_absolute_url()).content.decode()

    assert 'data-testid="merged-banner"' in page
    assert kept.get_absolute_url() in page
    assert "Book an appointment" not in page


def test_a_refused_post_changes_nothing_and_says_why(manager_client, kept, twin):
    AppointmentFactory(patient=kept, starts_at=TEN)
    AppointmentFactory(patient=twin, starts_at=TEN, doctor=DoctorFactory())

    response = manager_client.post(reverse("patients:merge_confirm", args=[kept.pk, twin.pk]))

    assert response.status_code == 409
    assert "cannot be merged" in response.content.decode()
    assert not PatientMerge.objects.exists()


@pytest.mark.parametrize("client", ["reception_client", "doctor_client"])
def test_only_managers_merge(request, client, kept, twin):
    staff = request.getfixturevalue(client)

    assert staff.get(reverse("patients:merge", args=[kept.pk])).status_code == 403
    response = staff.post(reverse("patients:merge_confirm", args=[kept.pk, twin.pk]))
    assert response.status_code == 403
    twin.refresh_from_db()
    assert twin.merged_into is None


def test_reception_sees_no_merge_button(reception_client, kept):
    page = reception_client.get(kept.get_absolute_url()).content.decode()

    assert "Merge a duplicate" not in page
