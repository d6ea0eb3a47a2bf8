"""Clinical sessions: opened for an arrived patient, started by the doctor on the
appointment's day, completed with the services performed (DESIGN.md section 3)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest

from doctors.models import Weekday
from scheduling.models import Appointment, AppointmentChange, Status
from scheduling.services import book_appointment, check_in, confirm_appointment
from sessions_app import signals
from sessions_app.exceptions import AlreadyExists, Busy, InvalidTransition, NotReady, NotYours
from sessions_app.models import PerformedService, Session, SessionStatus
from sessions_app.services import (
    complete_session,
    create_session,
    open_and_start_session,
    start_session,
)
from tests.clock import MONDAY, at
from tests.factories import (
    DoctorFactory,
    PatientFactory,
    ServiceFactory,
    WorkingHoursFactory,
    with_working_hours,
)


@pytest.fixture(autouse=True)
def monday_morning(time_machine):
    time_machine.move_to(at(MONDAY, 8), tick=False)


@pytest.fixture
def clock(time_machine):
    def move_to(moment: datetime) -> None:
        time_machine.move_to(moment, tick=False)

    return move_to


@pytest.fixture
def smith(doctor):
    return with_working_hours(doctor, Weekday.MONDAY, starts=time(8))


def arrived_appointment(doctor, consultation, hour: int = 10, patient=None) -> Appointment:
    appointment = book_appointment(
        patient=patient or PatientFactory(),
        doctor=doctor,
        service=consultation,
        starts_at=at(MONDAY, hour),
        booked_by=None,
    )
    appointment = confirm_appointment(appointment=appointment, by=None)
    return check_in(appointment=appointment, by=None)


@pytest.fixture
def appointment(smith, consultation) -> Appointment:
    return arrived_appointment(smith, consultation)


# --- Creating ------------------------------------------------------------------------


def test_a_session_is_opened_for_an_arrived_patient(appointment, smith):
    session = create_session(appointment=appointment, by=smith.user)

    assert (session.status, session.doctor, session.patient) == (
        SessionStatus.CREATED,
        smith,
        appointment.patient,
    )
    assert session.created_by == smith.user


def test_only_the_appointments_doctor_opens_its_session(appointment):
    other = DoctorFactory(given_name="Grace", family_name="Jones")

    with pytest.raises(NotYours, match="Only Dr Smith can open this session"):
        create_session(appointment=appointment, by=other.user)

    assert not Session.objects.exists()


@pytest.mark.parametrize("status", [Status.BOOKED, Status.CONFIRMED])
def test_no_session_before_the_patient_arrives(smith, consultation, status):
    appointment = book_appointment(
        patient=PatientFactory(),
        doctor=smith,
        service=consultation,
        starts_at=at(MONDAY, 10),
        booked_by=None,
    )
    if status == Status.CONFIRMED:
        appointment = confirm_appointment(appointment=appointment, by=None)

    with pytest.raises(NotReady, match="only once the patient has arrived"):
        create_session(appointment=appointment, by=None)
    assert not Session.objects.exists()


def test_one_session_per_appointment(appointment):
    create_session(appointment=appointment, by=None)

    with pytest.raises(AlreadyExists, match="This appointment already has a session"):
        create_session(appointment=appointment, by=None)
    assert Session.objects.count() == 1


# --- Starting ------------------------------------------------------------------------


def test_the_doctor_starts_the_session_and_the_appointment_is_in_session(appointment, smith, clock):
    session = create_session(appointment=appointment, by=None)
    clock(at(MONDAY, 9, 55))

    session = start_session(session=session, by=smith.user)

    appointment.refresh_from_db()
    assert session.status == SessionStatus.IN_PROGRESS
    assert session.started_at == at(MONDAY, 9, 55)
    assert appointment.status == Status.IN_SESSION
    assert appointment.changes.last().action == AppointmentChange.Action.SESSION_STARTED


def test_start_is_allowed_exactly_at_the_lead_time(appointment, clock):
    session = create_session(appointment=appointment, by=None)
    clock(at(MONDAY, 9, 30))

    assert start_session(session=session, by=None).status == SessionStatus.IN_PROGRESS


def test_start_a_minute_before_the_lead_time_is_too_early(appointment, clock):
    session = create_session(appointment=appointment, by=None)
    clock(at(MONDAY, 9, 29))

    with pytest.raises(NotReady) as refusal:
        start_session(session=session, by=None)

    assert str(refusal.value) == (
        "Too early: this session can start from 09:30, 30 minutes before the appointment."
    )
    session.refresh_from_db()
    assert session.status == SessionStatus.CREATED


def test_the_lead_time_comes_from_settings(appointment, clock, settings):
    settings.SESSION_START_LEAD_MINUTES = 60
    session = create_session(appointment=appointment, by=None)
    clock(at(MONDAY, 9))

    assert start_session(session=session, by=None).status == SessionStatus.IN_PROGRESS


def test_a_late_start_on_the_same_day_is_allowed(appointment, clock):
    session = create_session(appointment=appointment, by=None)
    clock(at(MONDAY, 16, 45))

    assert start_session(session=session, by=None).status == SessionStatus.IN_PROGRESS


def test_no_start_on_another_day(appointment, clock):
    session = create_session(appointment=appointment, by=None)
    clock(at(MONDAY + timedelta(days=1), 9))

    with pytest.raises(NotReady, match="only on the appointment's day, Mon 30 Nov"):
        start_session(session=session, by=None)


def test_the_day_is_the_clinics_day_not_utcs(smith, consultation, clock):
    """21:00 in New York is already the next day in UTC."""
    WorkingHoursFactory(doctor=smith, weekday=Weekday.MONDAY, starts=time(20), ends=time(22))
    appointment = arrived_appointment(smith, consultation, hour=21)
    session = create_session(appointment=appointment, by=None)
    clock(at(MONDAY, 20, 50))

    assert start_session(session=session, by=None).status == SessionStatus.IN_PROGRESS


def test_only_the_sessions_doctor_starts_it(appointment, clock):
    session = create_session(appointment=appointment, by=None)
    clock(at(MONDAY, 10))
    other = DoctorFactory(family_name="Jones")

    with pytest.raises(NotYours, match="Only Dr Smith can run this session"):
        start_session(session=session, by=other.user)


def test_a_session_starts_once(appointment, clock):
    session = create_session(appointment=appointment, by=None)
    clock(at(MONDAY, 10))
    start_session(session=session, by=None)

    with pytest.raises(InvalidTransition, match="already in progress"):
        start_session(session=session, by=None)


def test_a_doctor_has_one_session_in_progress(smith, consultation, clock):
    first = create_session(appointment=arrived_appointment(smith, consultation, 10), by=None)
    second = create_session(appointment=arrived_appointment(smith, consultation, 11), by=None)
    clock(at(MONDAY, 10, 40))
    start_session(session=first, by=None)

    with pytest.raises(Busy, match="Dr Smith already has a session in progress"):
        start_session(session=second, by=None)


def test_a_patient_is_in_one_session_at_a_time(smith, consultation, clock):
    jones = DoctorFactory(family_name="Jones")
    WorkingHoursFactory(doctor=jones, weekday=Weekday.MONDAY, starts=time(8), ends=time(17))
    anna = PatientFactory(given_name="Anna", family_name="Reed")
    with_smith = create_session(
        appointment=arrived_appointment(smith, consultation, 10, patient=anna), by=None
    )
    with_jones = create_session(
        appointment=arrived_appointment(jones, consultation, 11, patient=anna), by=None
    )
    clock(at(MONDAY, 10, 45))
    start_session(session=with_smith, by=None)

    with pytest.raises(Busy, match="Anna Reed is already in a session"):
        start_session(session=with_jones, by=None)


def test_the_database_keeps_one_session_in_progress_per_doctor(smith, consultation):
    from django.db import IntegrityError, transaction

    first = create_session(appointment=arrived_appointment(smith, consultation, 10), by=None)
    second = create_session(appointment=arrived_appointment(smith, consultation, 11), by=None)
    Session.objects.filter(pk=first.pk).update(
        status=SessionStatus.IN_PROGRESS, started_at=at(MONDAY, 8)
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        Session.objects.filter(pk=second.pk).update(
            status=SessionStatus.IN_PROGRESS, started_at=at(MONDAY, 8)
        )


# --- Completing ------------------------------------------------------------------------


@pytest.fixture
def in_progress(appointment, clock) -> Session:
    session = create_session(appointment=appointment, by=None)
    clock(at(MONDAY, 10))
    return start_session(session=session, by=None)


def test_completing_records_the_end_and_the_appointments_service(
    in_progress, smith, consultation, clock
):
    clock(at(MONDAY, 10, 25))

    session = complete_session(session=in_progress, by=smith.user)

    assert session.status == SessionStatus.COMPLETED
    assert session.completed_at == at(MONDAY, 10, 25)
    assert [(p.service, p.quantity, p.unit_price) for p in session.performed.all()] == [
        (consultation, 1, Decimal("80.00"))
    ]
    session.appointment.refresh_from_db()
    assert session.appointment.status == Status.COMPLETED


def test_performed_services_keep_the_price_of_the_day(in_progress, consultation):
    vaccination = ServiceFactory(code="vaccination", name="Vaccination", price=Decimal("30.00"))

    session = complete_session(
        session=in_progress, by=None, performed=[(consultation, 1), (vaccination, 2)]
    )
    consultation.price = Decimal("95.00")
    consultation.save()

    assert [(p.service.code, p.quantity, p.unit_price) for p in session.performed.all()] == [
        ("consult", 1, Decimal("80.00")),
        ("vaccination", 2, Decimal("30.00")),
    ]


def test_a_quantity_below_one_is_refused_and_nothing_changes(in_progress, consultation):
    with pytest.raises(InvalidTransition, match="quantity of at least 1"):
        complete_session(session=in_progress, by=None, performed=[(consultation, 0)])

    in_progress.refresh_from_db()
    assert in_progress.status == SessionStatus.IN_PROGRESS
    assert not PerformedService.objects.exists()


def test_only_a_session_in_progress_can_be_completed(appointment):
    session = create_session(appointment=appointment, by=None)

    with pytest.raises(InvalidTransition, match="this one is created"):
        complete_session(session=session, by=None)


def test_each_step_sends_its_signal(in_progress, smith):
    received = []

    def remember(sender, session, by, **kwargs):
        received.append((session.pk, by))

    signals.session_completed.connect(remember)
    try:
        complete_session(session=in_progress, by=smith.user)
    finally:
        signals.session_completed.disconnect(remember)

    assert received == [(in_progress.pk, smith.user)]


def test_session_started_signal(appointment, clock):
    received = []
    session = create_session(appointment=appointment, by=None)
    clock(at(MONDAY, 10))

    def remember(sender, session, by, **kwargs):
        received.append(session.status)

    signals.session_started.connect(remember)
    try:
        start_session(session=session, by=None)
    finally:
        signals.session_started.disconnect(remember)

    assert received == [SessionStatus.IN_PROGRESS]


def test_start_from_the_queue_opens_and_starts_in_one_step(appointment, smith, clock):
    clock(at(MONDAY, 9, 45))

    session = open_and_start_session(appointment=appointment, by=smith.user)

    assert session.status == SessionStatus.IN_PROGRESS
    assert session.appointment == appointment


def test_a_refused_start_from_the_queue_opens_nothing(appointment, smith, clock):
    clock(at(MONDAY, 9))

    with pytest.raises(NotReady, match="Too early"):
        open_and_start_session(appointment=appointment, by=smith.user)

    assert not Session.objects.exists()
