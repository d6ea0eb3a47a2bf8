"""Clinical access, earned (DESIGN.md section 6): addenda by the note's author or a
manager only; a doctor reads their own patients' charts directly and any other only
after stating a reason ("break the glass"), which lasts for the sign-in, is logged
with the real client address and shows on the manager's report; and the access log
refuses UPDATE and DELETE in the database itself.

The scene: Dr Alan Smith saw Jane Doe in March; Dr Grace Hopper never did. The
clock stands at 10:00 on Monday 30 November 2026 in New York.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from records.emergency import EmergencyGrant
from records.exceptions import Forbidden, NotSigned, ReasonRequired
from records.models import AccessAction, AccessLog, Addendum, EmergencyAccess
from records.rules import addendum_refusal, can_add_addendum
from records.selectors import is_own_patient, patient_chart, session_clinical_content
from records.services import add_addendum, break_the_glass
from scheduling.models import Status
from tests.clock import NEW_YORK
from tests.factories import (
    AppointmentFactory,
    ClinicalNoteFactory,
    DoctorFactory,
    PatientFactory,
    PrescriptionItemFactory,
    SessionFactory,
)

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=NEW_YORK)
COVERING = {"reason": "covering", "details": "Dr Smith is on leave"}


@pytest.fixture(autouse=True)
def monday_morning(time_machine) -> None:
    time_machine.move_to(NOW, tick=False)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def jane(db):
    return PatientFactory(given_name="Jane", family_name="Doe")


@pytest.fixture
def visit(doctor, jane):
    """Jane's completed visit with Dr Smith, its note signed."""
    session = SessionFactory(doctor=doctor, patient=jane, completed=True)
    ClinicalNoteFactory(session=session, signed_at=session.completed_at, signed_by=doctor.user)
    PrescriptionItemFactory(prescription__session=session)
    return session


@pytest.fixture
def note(visit):
    return visit.clinical_note


@pytest.fixture
def colleague(db):
    return DoctorFactory(given_name="Grace", family_name="Hopper")


@pytest.fixture
def colleague_client(colleague) -> Client:
    return client_for(colleague.user)


def chart_url(patient) -> str:
    return reverse("records:chart", args=[patient.pk])


def reason_url(patient) -> str:
    return reverse("records:emergency_access", args=[patient.pk])


def emergency_rows() -> list[tuple]:
    return list(
        AccessLog.objects.filter(action=AccessAction.EMERGENCY)
        .order_by("pk")
        .values_list("user__username", "patient__family_name", "reason", "ip_address")
    )


# Addenda: the note's author or a manager.


def test_one_rule_says_who_adds_an_addendum(doctor, colleague, manager, receptionist, note):
    assert can_add_addendum(note=note, user=doctor.user)
    assert can_add_addendum(note=note, user=manager)
    assert isinstance(addendum_refusal(note=note, user=colleague.user), Forbidden)
    assert isinstance(addendum_refusal(note=note, user=receptionist), Forbidden)


def test_an_unsigned_note_takes_no_addendum_even_from_its_author(doctor, jane):
    unsigned = ClinicalNoteFactory(session__doctor=doctor, session__patient=jane)

    assert isinstance(addendum_refusal(note=unsigned, user=doctor.user), NotSigned)
    # Another doctor learns nothing about the note's state: they are refused first.
    assert isinstance(addendum_refusal(note=unsigned, user=DoctorFactory().user), Forbidden)


def test_the_author_adds_an_addendum_on_the_chart_page(doctor_client, doctor, jane, note):
    url = reverse("records:add_addendum", args=[note.pk])
    assert url in doctor_client.get(chart_url(jane)).content.decode()

    response = doctor_client.post(url, {"text": "MRI normal."}, follow=True)

    assert "Addendum added." in response.content.decode()
    assert list(note.addenda.values_list("author", "text")) == [(doctor.user.pk, "MRI normal.")]


def test_a_manager_adds_an_addendum_on_the_chart_page(manager_client, manager, jane, note):
    url = reverse("records:add_addendum", args=[note.pk])
    assert url in manager_client.get(chart_url(jane)).content.decode()

    manager_client.post(url, {"text": "Author left the clinic; see letter."})

    assert list(note.addenda.values_list("author", flat=True)) == [manager.pk]


def test_a_colleague_is_offered_no_addendum_form_and_is_refused_by_the_page(
    colleague_client, colleague, jane, note
):
    colleague_client.post(reason_url(jane), COVERING)
    url = reverse("records:add_addendum", args=[note.pk])

    chart = colleague_client.get(chart_url(jane)).content.decode()
    response = colleague_client.post(url, {"text": "Seen at follow-up."}, follow=True)

    assert "Assessment" in chart
    assert url not in chart
    assert "Only the note&#x27;s author or a manager can add an addendum" in (
        response.content.decode()
    )
    assert not Addendum.objects.exists()


def test_a_colleague_cannot_add_an_addendum_through_the_service(colleague, note):
    with pytest.raises(Forbidden):
        add_addendum(note=note, by=colleague.user, text="Seen at follow-up.")

    assert not Addendum.objects.exists()


# Whose patient: one selector, one query.


@pytest.mark.parametrize(
    ("status", "starts", "theirs"),
    [
        (Status.COMPLETED, NOW - timedelta(days=800), True),
        (Status.ARRIVED, NOW - timedelta(minutes=10), True),
        (Status.IN_SESSION, NOW - timedelta(minutes=10), True),
        (Status.CONFIRMED, NOW - timedelta(hours=1), True),  # late, still expected today
        (Status.CONFIRMED, NOW + timedelta(days=1), True),
        (Status.BOOKED, NOW + timedelta(weeks=3), True),
        (Status.BOOKED, NOW + timedelta(weeks=5), False),  # beyond the 4 weeks
        (Status.CONFIRMED, NOW - timedelta(days=1), False),  # never came, never marked
        (Status.CANCELLED, NOW + timedelta(days=1), False),
        (Status.NO_SHOW, NOW - timedelta(days=7), False),
    ],
)
def test_whose_patient_follows_the_appointments(doctor, jane, status, starts, theirs):
    AppointmentFactory(doctor=doctor, patient=jane, status=status, starts_at=starts)

    assert is_own_patient(user=doctor.user, patient_id=jane.pk) is theirs


def test_an_appointment_with_another_doctor_makes_nobody_else_their_doctor(doctor, colleague, jane):
    AppointmentFactory(doctor=doctor, patient=jane, status=Status.COMPLETED, starts_at=NOW)

    assert not is_own_patient(user=colleague.user, patient_id=jane.pk)


def test_the_weeks_ahead_are_a_setting(settings, doctor, jane):
    AppointmentFactory(doctor=doctor, patient=jane, starts_at=NOW + timedelta(weeks=5))
    settings.RECORDS_OWN_PATIENT_WEEKS_AHEAD = 6

    assert is_own_patient(user=doctor.user, patient_id=jane.pk)


def test_whose_patient_is_one_query(django_assert_num_queries, doctor, jane, visit):
    for days in range(1, 6):
        AppointmentFactory(doctor=doctor, patient=jane, starts_at=NOW + timedelta(days=days))

    with django_assert_num_queries(1):
        assert is_own_patient(user=doctor.user, patient_id=jane.pk)


# Breaking the glass on the chart.


def test_a_doctor_opens_their_own_patients_chart_without_a_prompt(doctor_client, jane, visit):
    response = doctor_client.get(chart_url(jane))

    assert response.status_code == 200
    assert "Viral bronchitis." in response.content.decode()
    assert 'data-testid="emergency-access"' not in response.content.decode()
    assert AccessLog.objects.get(action=AccessAction.READ).description == "chart"
    assert doctor_client.get(reason_url(jane))["Location"] == chart_url(jane)


def test_another_patients_chart_asks_for_a_reason_and_reads_nothing(colleague_client, jane, visit):
    response = colleague_client.get(chart_url(jane))
    page = colleague_client.get(response["Location"])

    assert response.status_code == 302
    assert response["Location"] == reason_url(jane)
    assert page.status_code == 200
    assert "This patient is not yours." in page.content.decode()
    assert "manager reviews every emergency access" in page.content.decode()
    assert "Viral bronchitis." not in page.content.decode()
    assert not AccessLog.objects.exists()


@pytest.mark.parametrize(
    "data",
    [{}, {"reason": "", "details": ""}, {"reason": "other", "details": "   "}, {"reason": "x"}],
)
def test_an_empty_reason_is_refused(colleague_client, jane, visit, data):
    response = colleague_client.post(reason_url(jane), data)

    assert response.status_code == 400
    assert "This patient is not yours." in response.content.decode()
    assert not AccessLog.objects.exists()
    assert colleague_client.get(chart_url(jane))["Location"] == reason_url(jane)


def test_after_a_reason_the_chart_opens_for_the_rest_of_the_sign_in(
    colleague_client, colleague, jane, visit
):
    response = colleague_client.post(reason_url(jane), COVERING)
    first = colleague_client.get(chart_url(jane))
    again = colleague_client.get(chart_url(jane))

    assert response["Location"] == chart_url(jane)
    assert first.status_code == again.status_code == 200
    page = again.content.decode()
    assert "Viral bronchitis." in page
    assert 'data-testid="emergency-access"' in page
    assert "Covering for the patient&#x27;s doctor: Dr Smith is on leave" in page
    assert "logged and reviewed" in page
    # One emergency access, then reads marked as made under it.
    assert len(emergency_rows()) == 1
    reads = AccessLog.objects.filter(action=AccessAction.READ, user=colleague.user)
    assert set(reads.values_list("description", flat=True)) == {"chart (emergency access)"}
    assert reads.count() == 2


def test_the_reason_opens_that_patients_chart_only(colleague_client, jane, visit, doctor):
    other = SessionFactory(doctor=doctor, completed=True).patient
    colleague_client.post(reason_url(jane), COVERING)

    assert colleague_client.get(chart_url(other))["Location"] == reason_url(other)


def test_a_new_sign_in_asks_again(colleague_client, colleague, jane, visit):
    colleague_client.post(reason_url(jane), COVERING)
    assert colleague_client.get(chart_url(jane)).status_code == 200

    # Signing in again over the live session (Django keeps its data) ...
    colleague_client.force_login(colleague.user)
    assert colleague_client.get(chart_url(jane))["Location"] == reason_url(jane)

    # ... and after signing out.
    colleague_client.post(reason_url(jane), COVERING)
    colleague_client.logout()
    colleague_client.force_login(colleague.user)
    assert colleague_client.get(chart_url(jane))["Location"] == reason_url(jane)


def test_the_reason_is_logged_with_the_client_address_behind_the_proxy(
    settings, colleague_client, colleague, jane, visit
):
    settings.TRUSTED_PROXY_COUNT = 1

    colleague_client.post(
        reason_url(jane),
        {"reason": "other", "details": "Patient's daughter called, worried"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.7",
    )

    assert emergency_rows() == [
        (
            colleague.user.username,
            "Doe",
            "Other: Patient's daughter called, worried",
            "203.0.113.7",
        )
    ]
    entry = AccessLog.objects.get(action=AccessAction.EMERGENCY)
    assert (entry.object_type, entry.object_id, entry.at) == ("patients.patient", jane.pk, NOW)


def test_a_manager_is_never_asked(manager_client, jane, visit):
    response = manager_client.get(chart_url(jane))

    assert response.status_code == 200
    assert 'data-testid="emergency-access"' not in response.content.decode()
    assert manager_client.get(reason_url(jane))["Location"] == chart_url(jane)
    assert not emergency_rows()


def test_reception_cannot_break_the_glass(reception_client, jane, visit):
    assert reception_client.get(reason_url(jane)).status_code == 403
    assert reception_client.post(reason_url(jane), COVERING).status_code == 403
    assert not AccessLog.objects.exists()


def test_the_selectors_refuse_without_the_grant_and_read_with_it(colleague, jane, visit):
    with pytest.raises(ReasonRequired) as refused:
        patient_chart(patient=jane, user=colleague.user)
    grant = break_the_glass(patient=jane, by=colleague.user, reason="medical_emergency")

    chart = patient_chart(patient=jane, user=colleague.user, emergency=grant)

    assert refused.value.code == "reason_required"
    assert chart.emergency == grant
    assert grant.reason == "Medical emergency"
    # A grant is its holder's, for its patient.
    other = EmergencyGrant(user_id=colleague.user.pk, patient_id=0, reason="x", at=NOW)
    with pytest.raises(ReasonRequired):
        patient_chart(patient=jane, user=colleague.user, emergency=other)


def test_the_session_reads_need_the_grant_too(colleague, jane, visit):
    with pytest.raises(ReasonRequired):
        session_clinical_content(session=visit, user=colleague.user)
    grant = break_the_glass(patient=jane, by=colleague.user, reason="referral")

    content = session_clinical_content(session=visit, user=colleague.user, emergency=grant)

    assert content.note.assessment == "Viral bronchitis."
    assert AccessLog.objects.filter(description="session (emergency access)").count() == 1


def test_another_doctors_session_and_prescription_stay_closed_after_breaking_the_glass(
    colleague_client, jane, visit
):
    colleague_client.post(reason_url(jane), COVERING)
    prescription = visit.prescriptions.get()

    session = colleague_client.get(reverse("records:session", args=[visit.pk]))
    printed = colleague_client.get(reverse("records:print_prescription", args=[prescription.pk]))
    chart = colleague_client.get(chart_url(jane)).content.decode()

    assert (session.status_code, printed.status_code) == (404, 404)
    # The chart offers no print of a prescription the print page would refuse.
    assert reverse("records:print_prescription", args=[prescription.pk]) not in chart


# The manager's report of emergency accesses.


@pytest.fixture
def broken_glass(settings, colleague_client, jane, visit):
    settings.TRUSTED_PROXY_COUNT = 1
    colleague_client.post(reason_url(jane), COVERING, HTTP_X_FORWARDED_FOR="198.51.100.4")
    colleague_client.get(chart_url(jane))


def test_the_manager_reviews_emergency_accesses(manager_client, broken_glass):
    response = manager_client.get(reverse("admin:records_emergencyaccess_changelist"))

    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    for shown in ("Jane", "Doe", "Covering for the patient", "Dr Smith is on leave"):
        assert shown in page
    assert "198.51.100.4" in page


def test_the_manager_filters_the_access_log_for_emergency_accesses(manager_client, broken_glass):
    response = manager_client.get(
        reverse("admin:records_accesslog_changelist"), {"action": "emergency"}
    )

    assert response.context["cl"].result_count == 1
    assert AccessLog.objects.count() == 2  # the emergency access and the read


def test_the_report_changes_nothing(manager_client, broken_glass):
    entry = EmergencyAccess.objects.get()

    assert (
        manager_client.post(
            reverse("admin:records_emergencyaccess_change", args=[entry.pk]), {"reason": "None"}
        ).status_code
        == 403
    )
    assert (
        manager_client.post(
            reverse("admin:records_emergencyaccess_delete", args=[entry.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert EmergencyAccess.objects.get().reason.startswith("Covering")


@pytest.mark.parametrize("role_client", ["reception_client", "doctor_client"])
def test_reception_and_doctors_cannot_open_the_report(request, role_client, broken_glass):
    client = request.getfixturevalue(role_client)

    response = client.get(reverse("admin:records_emergencyaccess_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_doctor_with_admin_access_still_cannot_open_the_report(doctor, broken_glass):
    # Doctors hold records.view_accesslog; the report needs the managers' own right.
    doctor.user.is_staff = True
    doctor.user.save()

    response = client_for(doctor.user).get(reverse("admin:records_emergencyaccess_changelist"))

    assert response.status_code == 403


# Query counts.


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def add_visits(doctor, patient, count: int) -> None:
    for _ in range(count):
        session = SessionFactory(doctor=doctor, patient=patient, completed=True)
        ClinicalNoteFactory(session=session, signed_at=session.completed_at, signed_by=doctor.user)
        PrescriptionItemFactory.create_batch(2, prescription__session=session)


def test_the_chart_runs_the_same_queries_however_long_the_history(
    doctor, doctor_client, colleague_client, manager_client, jane, visit
):
    colleague_client.post(reason_url(jane), COVERING)
    clients = {"own": doctor_client, "emergency": colleague_client, "manager": manager_client}
    few = {name: count_queries(client, chart_url(jane)) for name, client in clients.items()}

    add_visits(doctor, jane, 5)
    many = {name: count_queries(client, chart_url(jane)) for name, client in clients.items()}

    assert many == few
    # The session and user, the permissions, whose patient, the record with its
    # allergies and history, the sessions with their content (four), which print, the
    # documents, the log entry, and so on: a fixed number, and a small one.
    assert max(few.values()) <= 17


# The access log is append-only in the database itself.

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="The append-only trigger exists on PostgreSQL only: SQLite, the development "
    "database, empties tables with DELETE between transactional tests.",
)


@pytest.fixture
def entry(colleague, jane, visit) -> AccessLog:
    break_the_glass(patient=jane, by=colleague.user, reason="medical_emergency")
    return AccessLog.objects.get()


@postgresql_only
def test_the_database_refuses_to_update_an_access_log_entry(entry):
    refused = pytest.raises(DatabaseError, match="append-only: UPDATE refused")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE records_accesslog SET reason = %s, user_id = NULL WHERE id = %s",
            ["Nothing to see", entry.pk],
        )

    assert AccessLog.objects.get().reason == "Medical emergency"


@postgresql_only
def test_the_database_refuses_to_delete_an_access_log_entry(entry):
    refused = pytest.raises(DatabaseError, match="append-only: DELETE refused")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM records_accesslog")

    assert AccessLog.objects.count() == 1


@postgresql_only
def test_the_database_still_takes_new_entries(entry):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO records_accesslog "
            "(user_id, patient_id, action, object_type, description, at, reason) "
            "SELECT user_id, patient_id, 'read', object_type, 'chart', now(), '' "
            "FROM records_accesslog WHERE id = %s",
            [entry.pk],
        )

    assert AccessLog.objects.count() == 2


def test_the_database_refuses_an_emergency_access_without_a_reason(entry):
    refused = pytest.raises(DatabaseError, match="accesslog_emergency_has_reason")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO records_accesslog "
            "(user_id, patient_id, action, object_type, description, at, reason) "
            "SELECT user_id, patient_id, 'emergency', '', '', at, '' "
            "FROM records_accesslog WHERE id = %s",
            [entry.pk],
        )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("migrated_data_restored")
def test_a_flush_still_empties_the_access_log(colleague, jane, visit):
    # Transactional tests (and the browser tests) end with Django's flush, a
    # TRUNCATE on PostgreSQL, which the append-only trigger leaves alone.
    break_the_glass(patient=jane, by=colleague.user, reason="medical_emergency")

    call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)

    assert not AccessLog.objects.exists()
