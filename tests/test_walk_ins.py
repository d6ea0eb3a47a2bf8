"""Walk-ins in one step (issue 16): the patient at the desk is booked at the earliest
minute today that the doctor (or whoever is free soonest) can take them, and is
confirmed and checked in at once, with no text about a booking they are standing
in, and with the doctor told they have arrived.

The scene: Tuesday 1 December 2026, 10:07:30 in New York. Dr Smith and Dr Jones
work 09:00-17:00 every day; a consultation lasts 30 minutes.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from doctors.models import Weekday
from notifications.models import Channel
from notifications.models import Status as MessageStatus
from scheduling.exceptions import Unavailable
from scheduling.models import Appointment, AppointmentChange, Status
from scheduling.services import book_walk_in, undo_check_in
from tests.clock import NEW_YORK
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    PatientFactory,
    ServiceFactory,
    TimeOffFactory,
    WorkingHoursFactory,
)

Action = AppointmentChange.Action


def at(hour: int, minute: int = 0, second: int = 0, day: int = 1) -> datetime:
    """A time in December 2026 (Tuesday the 1st unless told), in the clinic's zone."""
    return datetime(2026, 12, day, hour, minute, second, tzinfo=NEW_YORK)


@pytest.fixture(autouse=True)
def mid_morning(time_machine) -> None:
    time_machine.move_to(at(10, 7, 30), tick=False)


def working_every_day(doctor):
    for weekday in Weekday:
        WorkingHoursFactory(doctor=doctor, weekday=weekday, starts=time(9), ends=time(17))
    return doctor


@pytest.fixture
def smith(doctor):
    return working_every_day(doctor)


@pytest.fixture
def jones(db):
    return working_every_day(DoctorFactory(given_name="Grace", family_name="Jones"))


@pytest.fixture
def jane(db):
    return PatientFactory(given_name="Jane", family_name="Doe", phone="+12025550123")


@pytest.fixture
def consultation(db):
    return ServiceFactory(code="consult", name="Consultation", duration_minutes=30)


def busy(doctor, starts_at: datetime, minutes: int = 30, **fields) -> Appointment:
    """Someone else's appointment with `doctor`, already on the calendar."""
    return AppointmentFactory(
        doctor=doctor,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        status=fields.pop("status", Status.CONFIRMED),
        **fields,
    )


# --- When, and with whom ------------------------------------------------------------


def test_a_walk_in_is_booked_from_the_next_minute_and_checked_in(
    smith, jane, consultation, receptionist
):
    appointment = book_walk_in(patient=jane, service=consultation, doctor=smith, by=receptionist)

    appointment.refresh_from_db()
    assert (appointment.doctor, appointment.starts_at, appointment.ends_at) == (
        smith,
        at(10, 8),
        at(10, 38),
    )
    assert (appointment.status, appointment.arrived_at) == (Status.ARRIVED, at(10, 7, 30))
    assert appointment.walk_in
    assert appointment.created_by == receptionist


def test_a_walk_in_on_the_minute_starts_at_once(
    smith, jane, consultation, receptionist, time_machine
):
    time_machine.move_to(at(10, 7), tick=False)

    appointment = book_walk_in(patient=jane, service=consultation, doctor=smith, by=receptionist)

    assert appointment.starts_at == at(10, 7)


def test_the_history_shows_a_walk_in_booked_confirmed_and_checked_in(
    smith, jane, consultation, receptionist
):
    appointment = book_walk_in(patient=jane, service=consultation, doctor=smith, by=receptionist)

    assert [
        (change.action, change.from_status, change.to_status, change.changed_by)
        for change in appointment.changes.order_by("changed_at", "pk")
    ] == [
        (Action.BOOKED_WALK_IN, "", Status.BOOKED, receptionist),
        (Action.CONFIRMED, Status.BOOKED, Status.CONFIRMED, receptionist),
        (Action.CHECKED_IN, Status.CONFIRMED, Status.ARRIVED, receptionist),
    ]
    assert appointment.changes.first().get_action_display() == "Booked as a walk-in"


def test_a_walk_in_waits_for_the_doctors_running_appointment(
    smith, jane, consultation, receptionist
):
    busy(smith, at(10), status=Status.IN_SESSION)

    appointment = book_walk_in(patient=jane, service=consultation, doctor=smith, by=receptionist)

    assert appointment.starts_at == at(10, 30)


def test_a_walk_in_takes_the_first_gap_long_enough(smith, jane, consultation, receptionist):
    busy(smith, at(10))
    busy(smith, at(10, 45))  # 10:30-10:45 is too short for a consultation.

    appointment = book_walk_in(patient=jane, service=consultation, doctor=smith, by=receptionist)

    assert appointment.starts_at == at(11, 15)


def test_a_short_service_fits_the_short_gap(smith, jane, receptionist):
    busy(smith, at(10))
    busy(smith, at(10, 45))
    dressing = ServiceFactory(code="dressing", name="Dressing change", duration_minutes=15)

    appointment = book_walk_in(patient=jane, service=dressing, doctor=smith, by=receptionist)

    assert (appointment.starts_at, appointment.ends_at) == (at(10, 30), at(10, 45))


def test_any_free_doctor_is_the_one_free_soonest(smith, jones, jane, consultation, receptionist):
    busy(smith, at(10), status=Status.IN_SESSION)

    appointment = book_walk_in(patient=jane, service=consultation, by=receptionist)

    assert (appointment.doctor, appointment.starts_at) == (jones, at(10, 8))


def test_when_everyone_is_busy_any_doctor_is_the_first_to_finish(
    smith, jones, jane, consultation, receptionist
):
    busy(smith, at(10, 5), minutes=40)  # until 10:45
    busy(jones, at(10), minutes=35)  # until 10:35

    appointment = book_walk_in(patient=jane, service=consultation, by=receptionist)

    assert (appointment.doctor, appointment.starts_at) == (jones, at(10, 35))


def test_a_walk_in_fits_around_the_patients_own_appointment(
    smith, jones, jane, consultation, receptionist
):
    busy(jones, at(10, 20), patient=jane, status=Status.BOOKED)  # Jane, 10:20-10:50

    appointment = book_walk_in(patient=jane, service=consultation, doctor=smith, by=receptionist)

    assert appointment.starts_at == at(10, 50)


def test_a_walk_in_before_opening_is_seen_at_opening(
    smith, jane, consultation, receptionist, time_machine
):
    time_machine.move_to(at(7, 40), tick=False)

    appointment = book_walk_in(patient=jane, service=consultation, doctor=smith, by=receptionist)

    assert appointment.starts_at == at(9)


def test_a_walk_in_waits_out_the_doctors_time_off(smith, jane, consultation, receptionist):
    TimeOffFactory(doctor=smith, starts_at=at(10), ends_at=at(12), reason="Staff meeting")

    appointment = book_walk_in(patient=jane, service=consultation, doctor=smith, by=receptionist)

    assert appointment.starts_at == at(12)


# --- Nobody free today ----------------------------------------------------------------


def test_nobody_free_today_is_refused_with_the_next_free_time(
    smith, jones, jane, consultation, receptionist, time_machine
):
    time_machine.move_to(at(16, 45), tick=False)  # A consultation no longer fits.

    with pytest.raises(Unavailable) as refusal:
        book_walk_in(patient=jane, service=consultation, by=receptionist)

    assert str(refusal.value) == (
        "No doctor is free for Jane Doe (Consultation) today. "
        "The next free time is Wed 02 Dec at 09:00 with Dr Jones."
    )
    assert not Appointment.objects.exists()


def test_the_chosen_doctor_busy_all_day_is_refused_with_their_next_free_time(
    smith, jones, jane, consultation, receptionist
):
    busy(smith, at(10), minutes=7 * 60)  # 10:00-17:00
    busy(smith, at(9, 0, day=2), minutes=60)  # Wednesday 09:00-10:00

    with pytest.raises(Unavailable) as refusal:
        book_walk_in(patient=jane, service=consultation, doctor=smith, by=receptionist)

    assert str(refusal.value) == (
        "Dr Smith is not free for Jane Doe (Consultation) today. "
        "The next free time is Wed 02 Dec at 10:00 with Dr Smith."
    )
    assert not Appointment.objects.filter(patient=jane).exists()


def test_a_doctor_away_for_weeks_has_no_next_time_to_offer(smith, jane, consultation, receptionist):
    TimeOffFactory(doctor=smith, starts_at=at(9), ends_at=at(9) + timedelta(days=30))

    with pytest.raises(Unavailable) as refusal:
        book_walk_in(patient=jane, service=consultation, doctor=smith, by=receptionist)

    assert str(refusal.value) == (
        "Dr Smith is not free for Jane Doe (Consultation) today. "
        "There is no free time in the next 14 days either."
    )


def test_a_departed_doctor_takes_no_walk_in(smith, jane, consultation, receptionist):
    smith.is_active = False
    smith.save()

    with pytest.raises(Unavailable) as refusal:
        book_walk_in(patient=jane, service=consultation, doctor=smith, by=receptionist)

    assert str(refusal.value) == "Dr Smith no longer takes appointments."


def test_a_service_no_longer_offered_takes_no_walk_in(smith, jane, consultation, receptionist):
    consultation.is_active = False
    consultation.save()

    with pytest.raises(Unavailable):
        book_walk_in(patient=jane, service=consultation, doctor=smith, by=receptionist)

    assert not Appointment.objects.exists()


# --- What it tells whom -----------------------------------------------------------------


def test_a_walk_in_texts_the_patient_nothing_and_alerts_the_doctor(
    smith, jane, consultation, receptionist
):
    appointment = book_walk_in(patient=jane, service=consultation, doctor=smith, by=receptionist)

    messages = list(appointment.notifications.all())
    assert [(m.template, m.channel, m.user, m.status) for m in messages] == [
        ("doctor_patient_arrived", Channel.IN_APP, smith.user, MessageStatus.PENDING)
    ]
    assert jane.notifications.count() == 0  # No SMS of any kind to Jane.


def test_a_walk_in_seen_hours_later_still_gets_no_reminder(smith, jane, consultation, receptionist):
    busy(smith, at(10), minutes=3 * 60)  # until 13:00: a 2-hour reminder would be due

    appointment = book_walk_in(patient=jane, service=consultation, doctor=smith, by=receptionist)

    assert appointment.starts_at == at(13)
    assert not appointment.notifications.filter(template="appointment_reminder").exists()


def test_undoing_a_walk_ins_check_in_schedules_no_reminders(
    smith, jane, consultation, receptionist
):
    busy(smith, at(10), minutes=3 * 60)
    appointment = book_walk_in(patient=jane, service=consultation, doctor=smith, by=receptionist)

    undo_check_in(appointment=appointment, by=receptionist)

    assert not appointment.notifications.filter(template="appointment_reminder").exists()
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED
