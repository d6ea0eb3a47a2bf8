"""The doctor's session pages: start from the queue, write the note and the
prescription, complete and sign, print; the chart; who may open what."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.urls import reverse

from doctors.models import Weekday
from records.models import AccessLog, Addendum, ClinicalNote, Prescription
from scheduling.models import Status
from scheduling.services import book_appointment, check_in, confirm_appointment
from sessions_app.models import Session, SessionStatus
from tests.clock import MONDAY, at
from tests.factories import DoctorFactory, PatientFactory, ServiceFactory, with_working_hours


@pytest.fixture(autouse=True)
def monday_morning(time_machine, settings):
    time_machine.move_to(at(MONDAY, 9, 50), tick=False)
    settings.SESSION_COOKIE_AGE = 24 * 60 * 60


@pytest.fixture
def arrived(doctor):
    with_working_hours(doctor, Weekday.MONDAY, ends=time(12))
    appointment = book_appointment(
        patient=PatientFactory(given_name="Anna", family_name="Reed"),
        doctor=doctor,
        service=ServiceFactory(),
        starts_at=at(MONDAY, 10),
        booked_by=None,
    )
    confirm_appointment(appointment=appointment, by=None)
    return check_in(appointment=appointment, by=None)


def page_data(action: str, **overrides) -> dict[str, str]:
    data = {
        "action": action,
        "note-subjective": "Cough for two weeks",
        "note-objective": "Chest clear",
        "note-assessment": "Viral bronchitis",
        "note-plan": "Rest, fluids",
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
        "items-0-medication": "Paracetamol",
        "items-0-strength": "500 mg",
        "items-0-dose": "1 tablet",
        "items-0-route": "oral",
        "items-0-frequency": "every 6 hours",
        "items-0-duration": "5 days",
        "items-0-quantity": "20",
        "items-0-instructions": "After food",
        "performed-TOTAL_FORMS": "1",
        "performed-INITIAL_FORMS": "0",
        "performed-MIN_NUM_FORMS": "1",
        "performed-MAX_NUM_FORMS": "1000",
        "performed-0-quantity": "1",
    }
    return {**data, **overrides}


def started_session(doctor_client, arrived) -> Session:
    response = doctor_client.post(reverse("sessions:start", args=[arrived.pk]))
    session = Session.objects.get(appointment=arrived)
    assert response["Location"] == reverse("records:session", args=[session.pk])
    return session


def test_doctor_starts_writes_completes_and_prints(doctor_client, arrived):
    session = started_session(doctor_client, arrived)
    data = page_data("sign", **{"performed-0-service": str(arrived.service_id)})

    response = doctor_client.post(reverse("records:session", args=[session.pk]), data, follow=True)

    assert "Session completed; the note and prescription are signed." in response.content.decode()
    session.refresh_from_db()
    arrived.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED
    assert arrived.status == Status.COMPLETED
    note = ClinicalNote.objects.get(session=session)
    prescription = Prescription.objects.get(session=session)
    assert note.assessment == "Viral bronchitis"
    assert note.is_signed
    assert prescription.is_signed
    printed = doctor_client.get(reverse("records:print_prescription", args=[prescription.pk]))
    assert "Paracetamol 500 mg" in printed.content.decode()
    assert "Signature" in printed.content.decode()


def test_a_visit_without_prescription_completes(doctor_client, arrived):
    session = started_session(doctor_client, arrived)
    data = page_data(
        "sign", **{"performed-0-service": str(arrived.service_id), "items-0-medication": ""}
    )
    for field in ("strength", "dose", "frequency", "duration", "quantity", "instructions"):
        data[f"items-0-{field}"] = ""  # the route select still sends its default

    doctor_client.post(reverse("records:session", args=[session.pk]), data)

    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED
    assert not Prescription.objects.exists()


def test_a_too_early_start_is_refused_with_the_reason(doctor_client, arrived, time_machine):
    time_machine.move_to(at(MONDAY, 9), tick=False)

    response = doctor_client.post(reverse("sessions:start", args=[arrived.pk]), follow=True)

    assert "Too early: this session can start from 09:30" in response.content.decode()
    assert not Session.objects.exists()


def test_a_signed_note_cannot_be_changed_through_the_page(doctor_client, arrived):
    session = started_session(doctor_client, arrived)
    url = reverse("records:session", args=[session.pk])
    doctor_client.post(url, page_data("sign", **{"performed-0-service": str(arrived.service_id)}))

    doctor_client.post(url, page_data("save", **{"note-assessment": "Pneumonia"}))

    assert ClinicalNote.objects.get(session=session).assessment == "Viral bronchitis"


def test_reading_the_session_and_the_chart_is_audited(doctor_client, doctor, arrived):
    session = started_session(doctor_client, arrived)

    doctor_client.get(reverse("records:session", args=[session.pk]))
    doctor_client.get(reverse("records:chart", args=[arrived.patient_id]))

    reads = AccessLog.objects.filter(user=doctor.user, action="read", patient=arrived.patient)
    assert reads.count() == 2


def test_reception_and_other_doctors_cannot_open_the_session(
    reception_client, doctor_client, arrived, client
):
    session = started_session(doctor_client, arrived)
    other = DoctorFactory(family_name="Jones")
    other_client = type(client)()
    other_client.force_login(other.user)
    urls = [
        reverse("records:session", args=[session.pk]),
        reverse("records:chart", args=[arrived.patient_id]),
    ]

    for url in urls:
        assert reception_client.get(url).status_code in (403, 404)
        assert client.get(url).status_code == 302
    assert other_client.get(urls[0]).status_code == 404
    assert reception_client.post(reverse("sessions:start", args=[arrived.pk])).status_code == 403
    assert (
        not AccessLog.objects.filter(user__isnull=False)
        .exclude(user__in=[arrived.doctor.user])
        .exists()
    )


def test_queue_offers_start_session_for_arrived_patients(doctor_client, arrived):
    response = doctor_client.get(reverse("scheduling:my_day"), {"date": MONDAY.isoformat()})

    assert reverse("sessions:start", args=[arrived.pk]) in response.content.decode()


def test_manager_sees_sessions_in_admin_read_only(manager_client, doctor_client, arrived):
    session = started_session(doctor_client, arrived)

    listing = manager_client.get(reverse("admin:sessions_app_session_changelist"))
    change = manager_client.post(
        reverse("admin:sessions_app_session_change", args=[session.pk]), {"status": "completed"}
    )

    assert listing.status_code == 200
    assert "Anna Reed" in listing.content.decode()
    assert change.status_code == 403
    session.refresh_from_db()
    assert session.status == SessionStatus.IN_PROGRESS


def test_reception_sees_the_sessions_times_but_no_clinical_content(
    reception_client, doctor_client, arrived
):
    session = started_session(doctor_client, arrived)
    doctor_client.post(
        reverse("records:session", args=[session.pk]),
        page_data("save", **{"performed-0-service": str(arrived.service_id)}),
    )

    page = reception_client.get(reverse("scheduling:detail", args=[arrived.pk])).content.decode()

    assert "In progress, started 09:50" in page
    assert "Viral bronchitis" not in page
    assert "Paracetamol" not in page


def count_queries(client, url, params=None) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


def test_queue_page_runs_the_same_queries_however_busy_the_day(doctor_client, doctor, arrived):
    url = reverse("scheduling:my_day")
    few = count_queries(doctor_client, url, {"date": MONDAY.isoformat()})
    for minute in (30, 60, 90):
        appointment = book_appointment(
            patient=PatientFactory(),
            doctor=doctor,
            service=arrived.service,
            starts_at=at(MONDAY, 10) + timedelta(minutes=minute),
            booked_by=None,
        )
        confirm_appointment(appointment=appointment, by=None)
        check_in(appointment=appointment, by=None)

    assert count_queries(doctor_client, url, {"date": MONDAY.isoformat()}) == few


def test_chart_page_runs_the_same_queries_however_long_the_history(
    doctor_client, doctor, arrived, time_machine
):
    url = reverse("records:chart", args=[arrived.patient_id])
    session = started_session(doctor_client, arrived)
    doctor_client.post(
        reverse("records:session", args=[session.pk]),
        page_data("sign", **{"performed-0-service": str(arrived.service_id)}),
    )
    one = count_queries(doctor_client, url)

    # A second completed session, with its note and prescription.
    later = book_appointment(
        patient=arrived.patient,
        doctor=doctor,
        service=arrived.service,
        starts_at=at(MONDAY, 11),
        booked_by=None,
    )
    confirm_appointment(appointment=later, by=None)
    check_in(appointment=later, by=None)
    time_machine.move_to(at(MONDAY, 11), tick=False)
    second = started_session(doctor_client, later)
    doctor_client.post(
        reverse("records:session", args=[second.pk]),
        page_data("sign", **{"performed-0-service": str(arrived.service_id)}),
    )

    assert count_queries(doctor_client, url) == one


@pytest.fixture
def completed(doctor_client, arrived) -> Session:
    session = started_session(doctor_client, arrived)
    doctor_client.post(
        reverse("records:session", args=[session.pk]),
        page_data("sign", **{"performed-0-service": str(arrived.service_id)}),
    )
    session.refresh_from_db()
    return session


def clinical_urls(session: Session) -> dict[str, tuple[str, str]]:
    """Every sessions and records URL, with the method that uses it."""
    note = ClinicalNote.objects.get(session=session)
    prescription = Prescription.objects.get(session=session)
    return {
        "session": ("get", reverse("records:session", args=[session.pk])),
        "session_for_appointment": (
            "get",
            reverse("sessions:for_appointment", args=[session.appointment_id]),
        ),
        "print": ("get", reverse("records:print_prescription", args=[prescription.pk])),
        "chart": ("get", reverse("records:chart", args=[session.patient_id])),
        "addendum": ("post", reverse("records:add_addendum", args=[note.pk])),
        "start": ("post", reverse("sessions:start", args=[session.appointment_id])),
    }


@pytest.mark.parametrize(
    "name", ["session", "session_for_appointment", "print", "chart", "addendum", "start"]
)
def test_reception_anonymous_and_other_doctors_are_refused_everywhere(
    client, reception_client, receptionist, completed, name
):
    method, url = clinical_urls(completed)[name]
    other = type(client)()
    other.force_login(DoctorFactory(family_name="Jones").user)

    anonymous = getattr(client, method)(url)
    reception = getattr(reception_client, method)(url, {"text": "x"})
    other_doctor = getattr(other, method)(url, {"text": "x"})

    assert anonymous.status_code == 302
    assert reception.status_code in (403, 404)
    if name == "chart":
        # Not their patient: asked for a reason first (DESIGN.md section 6).
        assert other_doctor["Location"] == reverse(
            "records:emergency_access", args=[completed.patient_id]
        )
    elif name == "addendum":
        # Refused (only the author or a manager), back to the chart with the reason.
        assert other_doctor.status_code == 302
        assert not Addendum.objects.exists()
    else:
        assert other_doctor.status_code in (403, 404)
    assert not AccessLog.objects.filter(user=receptionist).exists()
    assert not AccessLog.objects.exclude(user=completed.doctor.user).exists()


@pytest.mark.parametrize("name", ["session", "session_for_appointment", "print", "chart"])
def test_the_sessions_doctor_and_a_manager_read_every_page(
    doctor_client, manager_client, completed, name
):
    _, url = clinical_urls(completed)[name]

    assert doctor_client.get(url, follow=True).status_code == 200
    assert manager_client.get(url, follow=True).status_code == 200
