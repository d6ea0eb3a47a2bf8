"""The appointment lifecycle and the booking rules (DESIGN.md section 2), through the
scheduling services: what each allows, what it refuses and with which words, the
history it writes and the signal it sends.

The scene: Monday 30 November 2026 in New York. Dr Smith works from 09:00 to 17:00
on Mondays; a consultation lasts 30 minutes; the clock stands at 08:00 unless a test
moves it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.dispatch import Signal

from scheduling import signals
from scheduling.exceptions import (
    InvalidTimes,
    InvalidTransition,
    Overlap,
    SchedulingError,
    Unavailable,
)
from scheduling.models import Appointment, AppointmentChange, Status
from scheduling.services import (
    book_appointment,
    cancel_appointment,
    check_in,
    confirm_appointment,
    mark_no_show,
    reschedule_appointment,
)
from tests.clock import MONDAY, at
from tests.factories import (
    AppointmentFactory,
    PatientFactory,
    TimeOffFactory,
)


@contextmanager
def receiving(signal: Signal) -> Iterator[list[dict]]:
    """Every sending of `signal` inside the block, as the keyword arguments a
    receiver gets (with the sender)."""
    calls: list[dict] = []

    def receiver(sender, **kwargs) -> None:
        calls.append({"sender": sender, **kwargs})

    signal.connect(receiver, weak=False)
    try:
        yield calls
    finally:
        signal.disconnect(receiver)


@pytest.fixture(autouse=True)
def monday_morning(time_machine) -> None:
    time_machine.move_to(at(MONDAY, 8), tick=False)


@pytest.fixture
def book(smith, jane, consultation, receptionist):
    """Books at reception: Jane with Dr Smith for a consultation, unless told otherwise."""

    def book(starts_at: datetime, **overrides) -> Appointment:
        arguments = {
            "patient": jane,
            "doctor": smith,
            "service": consultation,
            "booked_by": receptionist,
            **overrides,
        }
        return book_appointment(starts_at=starts_at, **arguments)

    return book


@pytest.fixture
def booked(book) -> Appointment:
    """Jane's consultation with Dr Smith, Monday from 10:00 to 10:30."""
    return book(at(MONDAY, 10))


@pytest.fixture
def confirmed(booked, receptionist) -> Appointment:
    return confirm_appointment(appointment=booked, by=receptionist)


def history(appointment: Appointment) -> list[str]:
    return list(appointment.changes.values_list("action", flat=True))


# --- Booking --------------------------------------------------------------------


def test_booking_takes_the_length_of_the_service(book, receptionist):
    appointment = book(at(MONDAY, 10), reason="  Persistent cough ")

    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.ends_at) == (at(MONDAY, 10), at(MONDAY, 10, 30))
    assert appointment.status == Status.BOOKED
    assert appointment.reason == "Persistent cough"
    assert appointment.created_by == receptionist


def test_reception_can_override_the_length(book):
    appointment = book(at(MONDAY, 10), duration=timedelta(minutes=45))

    assert appointment.ends_at == at(MONDAY, 10, 45)


def test_booking_writes_the_first_history_entry(book, receptionist):
    appointment = book(at(MONDAY, 10))

    change = appointment.changes.get()
    assert change.action == AppointmentChange.Action.BOOKED
    assert (change.from_status, change.to_status) == ("", Status.BOOKED)
    assert (change.from_starts_at, change.from_ends_at) == (None, None)
    assert (change.to_starts_at, change.to_ends_at) == (at(MONDAY, 10), at(MONDAY, 10, 30))
    assert change.changed_by == receptionist


def test_booking_sends_appointment_booked(book, receptionist):
    with receiving(signals.appointment_booked) as calls:
        appointment = book(at(MONDAY, 10))

    assert calls == [
        {
            "sender": Appointment,
            "signal": signals.appointment_booked,
            "appointment": appointment,
            "by": receptionist,
            "via": "",
        }
    ]


def test_back_to_back_appointments_are_allowed(book, bob):
    book(at(MONDAY, 10), patient=bob)

    before = book(at(MONDAY, 9, 30))
    after = book(at(MONDAY, 10, 30), patient=PatientFactory())

    assert before.ends_at == at(MONDAY, 10)
    assert after.starts_at == at(MONDAY, 10, 30)
    assert Appointment.objects.count() == 3


def test_doctor_cannot_be_double_booked(book, bob):
    bobs = book(at(MONDAY, 10), patient=bob)

    with pytest.raises(Overlap) as refusal:
        book(at(MONDAY, 10, 15))

    assert str(refusal.value) == "Dr Smith already has an appointment 10:00–10:30 on Mon 30 Nov."
    assert refusal.value.code == "overlap"
    assert refusal.value.conflict == bobs


def test_patient_cannot_be_with_two_doctors_at_once(book, jones):
    book(at(MONDAY, 10), doctor=jones)

    with pytest.raises(Overlap) as refusal:
        book(at(MONDAY, 10, 15))

    assert str(refusal.value) == (
        "Jane Doe already has an appointment 10:00–10:30 on Mon 30 Nov with Dr Jones."
    )


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.NO_SHOW])
def test_cancelled_and_no_show_appointments_free_their_time(book, smith, bob, status):
    AppointmentFactory(doctor=smith, patient=bob, starts_at=at(MONDAY, 10), status=status)

    appointment = book(at(MONDAY, 10))

    assert appointment.starts_at == at(MONDAY, 10)


@pytest.mark.parametrize(
    ("starts_at", "message"),
    [
        (
            at(MONDAY, 17),
            "Dr Smith does not work Monday 17:00–17:30 (hours that day: 09:00–17:00).",
        ),
        (
            at(MONDAY, 16, 45),
            "Dr Smith does not work Monday 16:45–17:15 (hours that day: 09:00–17:00).",
        ),
        (
            at(MONDAY, 8, 30),
            "Dr Smith does not work Monday 08:30–09:00 (hours that day: 09:00–17:00).",
        ),
        (
            at(MONDAY, 10) + timedelta(days=1),
            "Dr Smith does not work Tuesday 10:00–10:30 (no hours that day).",
        ),
    ],
    ids=["after-hours", "runs-past-closing", "before-opening", "day-off"],
)
def test_booking_outside_working_hours_is_refused(book, starts_at, message):
    with pytest.raises(Unavailable) as refusal:
        book(starts_at)

    assert str(refusal.value) == message


def test_booking_during_time_off_is_refused(book, smith):
    TimeOffFactory(
        doctor=smith, starts_at=at(MONDAY, 12), ends_at=at(MONDAY, 14), reason="Conference"
    )

    with pytest.raises(Unavailable) as refusal:
        book(at(MONDAY, 13, 45))

    assert str(refusal.value) == "Dr Smith is away until 2026-11-30 14:00 (Conference)."


def test_booking_in_the_past_is_refused(book, time_machine):
    time_machine.move_to(at(MONDAY, 10, 30), tick=False)

    with pytest.raises(Unavailable) as refusal:
        book(at(MONDAY, 10))

    assert str(refusal.value) == "An appointment cannot start in the past."


def test_walk_in_can_be_booked_for_a_start_a_few_minutes_ago(book, time_machine):
    time_machine.move_to(at(MONDAY, 10, 7), tick=False)

    appointment = book(at(MONDAY, 10))

    assert appointment.starts_at == at(MONDAY, 10)


def test_times_without_a_time_zone_are_refused(book):
    with pytest.raises(InvalidTimes) as refusal:
        book(datetime(2026, 11, 30, 10, 0))

    assert str(refusal.value) == "Times must carry a time zone (an offset such as +01:00)."


@pytest.mark.parametrize("minutes", [0, -30])
def test_a_length_that_is_not_positive_is_refused(book, minutes):
    with pytest.raises(InvalidTimes) as refusal:
        book(at(MONDAY, 10), duration=timedelta(minutes=minutes))

    assert str(refusal.value) == "An appointment must end after it starts."


def test_a_length_over_eight_hours_is_refused(book):
    with pytest.raises(InvalidTimes) as refusal:
        book(at(MONDAY, 9), duration=timedelta(hours=8, minutes=15))

    assert str(refusal.value) == "An appointment lasts at most 480 minutes."
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("minutes", [1, 4])
def test_a_length_under_five_minutes_is_refused(book, minutes):
    with pytest.raises(InvalidTimes) as refusal:
        book(at(MONDAY, 10), duration=timedelta(minutes=minutes))

    assert str(refusal.value) == "An appointment lasts at least 5 minutes."
    assert not Appointment.objects.exists()


def test_a_five_minute_appointment_is_the_shortest_booked(book):
    appointment = book(at(MONDAY, 10), duration=timedelta(minutes=5))

    assert appointment.duration == timedelta(minutes=5)


def test_an_eight_hour_appointment_still_blocks_its_last_minutes(book, bob):
    book(at(MONDAY, 9), duration=timedelta(hours=8))

    with pytest.raises(Overlap):
        book(at(MONDAY, 16, 30), patient=bob)


def test_an_inactive_doctor_cannot_be_booked(book, smith):
    smith.is_active = False
    smith.save()

    with pytest.raises(Unavailable) as refusal:
        book(at(MONDAY, 10))

    assert str(refusal.value) == "Dr Smith no longer takes appointments."


def test_a_service_no_longer_offered_cannot_be_booked(book, consultation):
    consultation.is_active = False
    consultation.save()

    with pytest.raises(Unavailable) as refusal:
        book(at(MONDAY, 10))

    assert str(refusal.value) == "Consultation is no longer offered."


@pytest.mark.parametrize(
    "refused_start",
    [
        at(MONDAY, 10, 15),
        at(MONDAY, 17),
        at(MONDAY, 12, 30),
        at(MONDAY, 7),
        datetime(2026, 11, 30, 11),
    ],
    ids=["overlap", "after-hours", "time-off", "past", "naive"],
)
def test_a_refused_booking_changes_nothing(book, smith, bob, refused_start):
    book(at(MONDAY, 10), patient=bob)
    TimeOffFactory(doctor=smith, starts_at=at(MONDAY, 12), ends_at=at(MONDAY, 13))

    with receiving(signals.appointment_booked) as calls, pytest.raises(SchedulingError):
        book(refused_start)

    assert Appointment.objects.count() == 1
    assert AppointmentChange.objects.count() == 1
    assert calls == []


def test_a_booking_whose_receiver_fails_is_rolled_back(book):
    def broken_receiver(sender, **kwargs) -> None:
        raise RuntimeError("notifications are down")

    signals.appointment_booked.connect(broken_receiver, weak=False)
    try:
        with pytest.raises(RuntimeError):
            book(at(MONDAY, 10))
    finally:
        signals.appointment_booked.disconnect(broken_receiver)

    assert not Appointment.objects.exists()
    assert not AppointmentChange.objects.exists()


# --- Confirming -----------------------------------------------------------------


def test_confirming_a_booked_appointment(booked, receptionist):
    appointment = confirm_appointment(appointment=booked, by=receptionist)

    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED


def test_confirming_writes_history(booked, receptionist):
    confirm_appointment(appointment=booked, by=receptionist)

    change = booked.changes.last()
    assert change.action == AppointmentChange.Action.CONFIRMED
    assert (change.from_status, change.to_status) == (Status.BOOKED, Status.CONFIRMED)
    assert (change.to_starts_at, change.to_ends_at) == (at(MONDAY, 10), at(MONDAY, 10, 30))
    assert not change.times_changed
    assert change.changed_by == receptionist


def test_confirming_sends_appointment_confirmed(booked, receptionist):
    with receiving(signals.appointment_confirmed) as calls:
        confirm_appointment(appointment=booked, by=receptionist)

    assert calls == [
        {
            "sender": Appointment,
            "signal": signals.appointment_confirmed,
            "appointment": booked,
            "by": receptionist,
            "via": "",
        }
    ]
    assert calls[0]["appointment"].status == Status.CONFIRMED


def test_confirming_twice_is_refused(booked, receptionist):
    confirm_appointment(appointment=booked, by=receptionist)

    with (
        receiving(signals.appointment_confirmed) as calls,
        pytest.raises(InvalidTransition) as refusal,
    ):
        confirm_appointment(appointment=booked, by=receptionist)

    assert str(refusal.value) == (
        "Only a booked appointment can be confirmed; this one is confirmed."
    )
    assert history(booked) == ["booked", "confirmed"]
    assert calls == []


# --- Checking in ----------------------------------------------------------------


def test_checking_in_records_the_arrival_time(confirmed, receptionist, time_machine):
    time_machine.move_to(at(MONDAY, 9, 52), tick=False)

    check_in(appointment=confirmed, by=receptionist)

    confirmed.refresh_from_db()
    assert confirmed.status == Status.ARRIVED
    assert confirmed.arrived_at == at(MONDAY, 9, 52)
    assert (confirmed.starts_at, confirmed.ends_at) == (at(MONDAY, 10), at(MONDAY, 10, 30))


def test_checking_in_writes_history(confirmed, receptionist):
    check_in(appointment=confirmed, by=receptionist)

    change = confirmed.changes.last()
    assert change.action == AppointmentChange.Action.CHECKED_IN
    assert (change.from_status, change.to_status) == (Status.CONFIRMED, Status.ARRIVED)
    assert change.changed_by == receptionist


def test_checking_in_sends_patient_arrived(confirmed, receptionist):
    with receiving(signals.patient_arrived) as calls:
        check_in(appointment=confirmed, by=receptionist)

    assert calls == [
        {
            "sender": Appointment,
            "signal": signals.patient_arrived,
            "appointment": confirmed,
            "by": receptionist,
            "change": confirmed.changes.get(action=AppointmentChange.Action.CHECKED_IN),
        }
    ]
    assert calls[0]["appointment"].arrived_at == at(MONDAY, 8)


def test_a_booked_appointment_cannot_be_checked_in(booked, receptionist):
    with pytest.raises(InvalidTransition) as refusal:
        check_in(appointment=booked, by=receptionist)

    assert (
        str(refusal.value) == "Only a confirmed appointment can be checked in; this one is booked."
    )
    booked.refresh_from_db()
    assert (booked.status, booked.arrived_at) == (Status.BOOKED, None)


# --- Cancelling -----------------------------------------------------------------


@pytest.mark.parametrize("confirm_first", [False, True], ids=["booked", "confirmed"])
def test_booked_or_confirmed_appointment_can_be_cancelled(booked, receptionist, confirm_first):
    if confirm_first:
        confirm_appointment(appointment=booked, by=receptionist)

    cancel_appointment(appointment=booked, reason="  Patient has the flu ", by=receptionist)

    booked.refresh_from_db()
    assert booked.status == Status.CANCELLED
    assert booked.cancellation_reason == "Patient has the flu"


def test_cancelling_keeps_the_reason_in_the_history(booked, receptionist):
    cancel_appointment(appointment=booked, reason="Patient has the flu", by=receptionist)

    change = booked.changes.last()
    assert change.action == AppointmentChange.Action.CANCELLED
    assert (change.from_status, change.to_status) == (Status.BOOKED, Status.CANCELLED)
    assert change.note == "Patient has the flu"
    assert change.changed_by == receptionist


def test_cancelling_sends_appointment_cancelled(booked, receptionist):
    with receiving(signals.appointment_cancelled) as calls:
        cancel_appointment(appointment=booked, reason="Patient has the flu", by=receptionist)

    assert calls == [
        {
            "sender": Appointment,
            "signal": signals.appointment_cancelled,
            "appointment": booked,
            "by": receptionist,
            "via": "",
        }
    ]


@pytest.mark.parametrize("reason", ["", "   "])
def test_cancelling_needs_a_reason(booked, receptionist, reason):
    with pytest.raises(SchedulingError) as refusal:
        cancel_appointment(appointment=booked, reason=reason, by=receptionist)

    assert str(refusal.value) == "Say why the appointment is cancelled."
    booked.refresh_from_db()
    assert booked.status == Status.BOOKED
    assert history(booked) == ["booked"]


def test_a_cancelled_time_can_be_booked_again(booked, book, bob, receptionist):
    cancel_appointment(appointment=booked, reason="Patient has the flu", by=receptionist)

    bobs = book(at(MONDAY, 10), patient=bob)

    assert bobs.starts_at == at(MONDAY, 10)


# --- No-shows -------------------------------------------------------------------


def test_a_confirmed_patient_who_did_not_come_is_marked_no_show(
    confirmed, receptionist, time_machine
):
    time_machine.move_to(at(MONDAY, 10, 20), tick=False)

    mark_no_show(appointment=confirmed, by=receptionist)

    confirmed.refresh_from_db()
    assert confirmed.status == Status.NO_SHOW
    change = confirmed.changes.last()
    assert change.action == AppointmentChange.Action.NO_SHOW
    assert (change.from_status, change.to_status) == (Status.CONFIRMED, Status.NO_SHOW)
    assert change.changed_by == receptionist


def test_marking_no_show_sends_appointment_no_show(confirmed, receptionist, time_machine):
    time_machine.move_to(at(MONDAY, 10, 20), tick=False)

    with receiving(signals.appointment_no_show) as calls:
        mark_no_show(appointment=confirmed, by=receptionist)

    assert calls == [
        {
            "sender": Appointment,
            "signal": signals.appointment_no_show,
            "appointment": confirmed,
            "by": receptionist,
        }
    ]


def test_no_show_is_refused_before_the_start_time(confirmed, receptionist, time_machine):
    time_machine.move_to(at(MONDAY, 9, 59), tick=False)

    with pytest.raises(InvalidTransition) as refusal:
        mark_no_show(appointment=confirmed, by=receptionist)

    assert str(refusal.value) == (
        "A patient can be marked as a no-show only after the start time (10:00 on Mon 30 Nov)."
    )
    confirmed.refresh_from_db()
    assert confirmed.status == Status.CONFIRMED


# --- Every other transition is refused -------------------------------------------

REFUSALS = {
    "confirm": "Only a booked appointment can be confirmed; this one is {}.",
    "check-in": "Only a confirmed appointment can be checked in; this one is {}.",
    "cancel": "Only a booked or confirmed appointment can be cancelled; this one is {}.",
    "no-show": "Only a booked or confirmed appointment can be marked as a no-show; this one is {}.",
    "reschedule": "Only a booked or confirmed appointment can be rescheduled; this one is {}.",
}
ALLOWED = {
    "confirm": {Status.BOOKED},
    "check-in": {Status.CONFIRMED},
    "cancel": {Status.BOOKED, Status.CONFIRMED},
    "no-show": {Status.BOOKED, Status.CONFIRMED},
    "reschedule": {Status.BOOKED, Status.CONFIRMED},
}
REFUSED = [
    pytest.param(action, status, id=f"{action}-{status}")
    for action in REFUSALS
    for status in Status
    if status not in ALLOWED[action]
]


def act(action: str, appointment: Appointment, by) -> None:
    if action == "confirm":
        confirm_appointment(appointment=appointment, by=by)
    elif action == "check-in":
        check_in(appointment=appointment, by=by)
    elif action == "cancel":
        cancel_appointment(appointment=appointment, reason="Patient called", by=by)
    elif action == "no-show":
        mark_no_show(appointment=appointment, by=by)
    else:
        reschedule_appointment(appointment=appointment, starts_at=at(MONDAY, 14), by=by)


@pytest.mark.parametrize(("action", "status"), REFUSED)
def test_every_other_transition_is_refused_and_changes_nothing(
    smith, jane, receptionist, time_machine, action, status
):
    appointment = AppointmentFactory(
        doctor=smith, patient=jane, starts_at=at(MONDAY, 10), status=status
    )
    # After the start time, so a no-show is refused for its status, not its timing.
    time_machine.move_to(at(MONDAY, 10, 20), tick=False)

    with pytest.raises(InvalidTransition) as refusal:
        act(action, appointment, receptionist)

    assert str(refusal.value) == REFUSALS[action].format(Status(status).label.lower())
    appointment.refresh_from_db()
    assert (appointment.status, appointment.starts_at) == (status, at(MONDAY, 10))
    assert not appointment.changes.exists()


# --- Rescheduling ---------------------------------------------------------------


def test_rescheduling_moves_the_same_appointment_and_keeps_its_status(confirmed, receptionist):
    moved = reschedule_appointment(appointment=confirmed, starts_at=at(MONDAY, 14), by=receptionist)

    moved.refresh_from_db()
    assert moved.pk == confirmed.pk
    assert moved.status == Status.CONFIRMED
    assert (moved.starts_at, moved.ends_at) == (at(MONDAY, 14), at(MONDAY, 14, 30))
    assert Appointment.objects.count() == 1


def test_rescheduling_adds_to_the_history(confirmed, receptionist):
    reschedule_appointment(appointment=confirmed, starts_at=at(MONDAY, 14), by=receptionist)

    assert history(confirmed) == ["booked", "confirmed", "rescheduled"]
    change = confirmed.changes.last()
    assert (change.from_status, change.to_status) == (Status.CONFIRMED, Status.CONFIRMED)
    assert (change.from_starts_at, change.from_ends_at) == (at(MONDAY, 10), at(MONDAY, 10, 30))
    assert (change.to_starts_at, change.to_ends_at) == (at(MONDAY, 14), at(MONDAY, 14, 30))
    assert change.times_changed
    assert change.changed_by == receptionist


def test_rescheduling_sends_the_previous_times_and_the_history_entry(booked, receptionist):
    with receiving(signals.appointment_rescheduled) as calls:
        reschedule_appointment(appointment=booked, starts_at=at(MONDAY, 14), by=receptionist)

    assert calls == [
        {
            "sender": Appointment,
            "signal": signals.appointment_rescheduled,
            "appointment": booked,
            "by": receptionist,
            "previous_starts_at": at(MONDAY, 10),
            "previous_ends_at": at(MONDAY, 10, 30),
            "previous_doctor": booked.doctor,
            "change": booked.changes.get(action=AppointmentChange.Action.RESCHEDULED),
            "via": "",
        }
    ]
    assert calls[0]["appointment"].starts_at == at(MONDAY, 14)


def test_rescheduling_keeps_the_length_unless_told(book, receptionist):
    long_visit = book(at(MONDAY, 10), duration=timedelta(minutes=45))

    moved = reschedule_appointment(
        appointment=long_visit, starts_at=at(MONDAY, 14), by=receptionist
    )
    shortened = reschedule_appointment(
        appointment=long_visit, starts_at=at(MONDAY, 15), duration=timedelta(minutes=20), by=None
    )

    assert moved.ends_at == at(MONDAY, 14, 45)
    assert shortened.ends_at == at(MONDAY, 15, 20)


def test_rescheduling_to_no_length_is_refused(booked, receptionist):
    with pytest.raises(InvalidTimes) as refusal:
        reschedule_appointment(
            appointment=booked, starts_at=at(MONDAY, 14), duration=timedelta(0), by=receptionist
        )

    assert str(refusal.value) == "An appointment must end after it starts."


def test_rescheduling_may_overlap_the_appointments_own_old_time(booked, receptionist):
    moved = reschedule_appointment(
        appointment=booked, starts_at=at(MONDAY, 10, 15), by=receptionist
    )

    assert (moved.starts_at, moved.ends_at) == (at(MONDAY, 10, 15), at(MONDAY, 10, 45))


def test_rescheduling_into_another_appointment_is_refused(booked, book, bob, receptionist):
    book(at(MONDAY, 14), patient=bob)

    with pytest.raises(Overlap) as refusal:
        reschedule_appointment(appointment=booked, starts_at=at(MONDAY, 14, 15), by=receptionist)

    assert str(refusal.value) == "Dr Smith already has an appointment 14:00–14:30 on Mon 30 Nov."
    booked.refresh_from_db()
    assert booked.starts_at == at(MONDAY, 10)
    assert history(booked) == ["booked"]


def test_rescheduling_outside_working_hours_is_refused(booked, receptionist):
    with pytest.raises(Unavailable, match="Dr Smith does not work Monday 18:00–18:30"):
        reschedule_appointment(appointment=booked, starts_at=at(MONDAY, 18), by=receptionist)

    booked.refresh_from_db()
    assert booked.starts_at == at(MONDAY, 10)


def test_rescheduling_to_the_same_time_is_refused(booked, receptionist):
    with pytest.raises(InvalidTimes) as refusal:
        reschedule_appointment(appointment=booked, starts_at=at(MONDAY, 10), by=receptionist)

    assert str(refusal.value) == "The appointment is already at that time."


@pytest.mark.parametrize("status", [Status.ARRIVED, Status.CANCELLED])
def test_arrived_or_cancelled_appointment_cannot_be_rescheduled(smith, jane, receptionist, status):
    appointment = AppointmentFactory(
        doctor=smith, patient=jane, starts_at=at(MONDAY, 10), status=status
    )

    with pytest.raises(InvalidTransition) as refusal:
        reschedule_appointment(appointment=appointment, starts_at=at(MONDAY, 14), by=receptionist)

    assert str(refusal.value) == (
        "Only a booked or confirmed appointment can be rescheduled; "
        f"this one is {status.label.lower()}."
    )


# --- History is append-only ------------------------------------------------------


def test_a_history_entry_cannot_be_changed(booked):
    change = booked.changes.get()
    change.note = "Edited afterwards"

    with pytest.raises(ValueError, match="Appointment history is append-only"):
        change.save()

    assert booked.changes.get().note == ""


# --- The same rules on the model and in the database -----------------------------


def test_model_validation_reports_a_doctor_overlap(smith, jane, bob, consultation):
    AppointmentFactory(doctor=smith, patient=bob, service=consultation, starts_at=at(MONDAY, 10))
    clash = Appointment(
        doctor=smith,
        patient=jane,
        service=consultation,
        starts_at=at(MONDAY, 10, 15),
        ends_at=at(MONDAY, 10, 45),
    )

    with pytest.raises(ValidationError) as error:
        clash.full_clean()

    assert error.value.messages == ["The doctor already has an appointment at this time."]


def test_model_validation_reports_a_patient_overlap(smith, jones, jane, consultation):
    AppointmentFactory(doctor=jones, patient=jane, service=consultation, starts_at=at(MONDAY, 10))
    clash = Appointment(
        doctor=smith,
        patient=jane,
        service=consultation,
        starts_at=at(MONDAY, 10, 15),
        ends_at=at(MONDAY, 10, 45),
    )

    with pytest.raises(ValidationError) as error:
        clash.full_clean()

    assert error.value.messages == ["The patient already has an appointment at this time."]


def test_overlap_search_reaches_back_exactly_the_longest_length(smith, jane, consultation):
    # Overlap searches bound `starts_at` below by the longest length an appointment
    # may have; the longest one must still be found from its last minute.
    longest = AppointmentFactory(
        doctor=smith, patient=jane, starts_at=at(MONDAY, 9), ends_at=at(MONDAY, 17)
    )

    assert list(Appointment.objects.overlapping(at(MONDAY, 16, 59), at(MONDAY, 17, 30))) == [
        longest
    ]
    assert list(Appointment.objects.overlapping(at(MONDAY, 17), at(MONDAY, 17, 30))) == []


def test_the_database_refuses_an_appointment_longer_than_eight_hours(smith, jane):
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentFactory(
            doctor=smith, patient=jane, starts_at=at(MONDAY, 9), ends_at=at(MONDAY, 17, 1)
        )

    assert not Appointment.objects.exists()


def test_the_database_refuses_an_appointment_shorter_than_five_minutes(smith, jane):
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentFactory(
            doctor=smith, patient=jane, starts_at=at(MONDAY, 9), ends_at=at(MONDAY, 9, 4)
        )

    assert not Appointment.objects.exists()


def test_model_validation_reports_an_appointment_longer_than_eight_hours(smith, jane, consultation):
    too_long = Appointment(
        doctor=smith,
        patient=jane,
        service=consultation,
        starts_at=at(MONDAY, 9),
        ends_at=at(MONDAY, 17, 1),
    )

    with pytest.raises(ValidationError) as error:
        too_long.full_clean()

    assert error.value.messages == ["An appointment lasts at most 8 hours."]


def test_model_validation_accepts_back_to_back_and_its_own_time(smith, jane, bob, consultation):
    AppointmentFactory(doctor=smith, patient=bob, service=consultation, starts_at=at(MONDAY, 10))
    mine = AppointmentFactory(
        doctor=smith, patient=jane, service=consultation, starts_at=at(MONDAY, 10, 30)
    )

    mine.full_clean()


def test_model_validation_ignores_cancelled_appointments(smith, jane, bob, consultation):
    AppointmentFactory(doctor=smith, patient=bob, starts_at=at(MONDAY, 10), status=Status.CANCELLED)
    appointment = Appointment(
        doctor=smith,
        patient=jane,
        service=consultation,
        starts_at=at(MONDAY, 10),
        ends_at=at(MONDAY, 10, 30),
    )

    appointment.full_clean()


@pytest.mark.parametrize("minutes", [0, -30], ids=["no-length", "ends-before-start"])
def test_database_refuses_an_appointment_that_does_not_end_after_it_starts(
    smith, jane, consultation, minutes
):
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentFactory(
            doctor=smith,
            patient=jane,
            service=consultation,
            starts_at=at(MONDAY, 10),
            ends_at=at(MONDAY, 10) + timedelta(minutes=minutes),
        )

    assert not Appointment.objects.exists()
