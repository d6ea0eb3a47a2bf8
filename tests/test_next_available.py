""" "Next available" (issue 16, point 4): the first free slots from a day on, across
days, for one doctor or any; and moving an appointment to another doctor.

The scene: Monday 30 November 2026 in New York, the clock at 07:00. Dr Smith and
Dr Jones each work Mondays and Fridays from 09:00 to 10:00; a consultation lasts
30 minutes, so each of those days offers 09:00, 09:15 and 09:30.
"""

from __future__ import annotations

from datetime import UTC, date, time, timedelta

import pytest

from doctors.models import Weekday
from notifications.models import Notification
from scheduling import signals
from scheduling.exceptions import InvalidTimes, Overlap, Unavailable
from scheduling.models import AppointmentChange
from scheduling.selectors import Slot, next_free_slots
from scheduling.services import book_appointment, confirm_appointment, reschedule_appointment
from tests.clock import MONDAY, NEW_YORK, at
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    PatientFactory,
    ServiceFactory,
    TimeOffFactory,
    with_working_hours,
)

FRIDAY = MONDAY + timedelta(days=4)
NEXT_MONDAY = MONDAY + timedelta(days=7)
EARLY = (Weekday.MONDAY, Weekday.FRIDAY)


@pytest.fixture(autouse=True)
def monday_early(time_machine) -> None:
    time_machine.move_to(at(MONDAY, 7), tick=False)


@pytest.fixture
def smith(doctor):
    return with_working_hours(doctor, *EARLY, ends=time(10))


@pytest.fixture
def jones(db):
    doctor = DoctorFactory(given_name="Grace", family_name="Jones")
    return with_working_hours(doctor, *EARLY, ends=time(10))


def seen(slots: list[Slot]) -> list[str]:
    """The slots as reception reads them: day, time and doctor, in the clinic's zone."""
    return [
        f"{slot.starts_at.astimezone(NEW_YORK):%a %d %H:%M} {slot.doctor.family_name}"
        for slot in slots
    ]


def taken(doctor, starts_at, service, patient=None):
    return AppointmentFactory(
        doctor=doctor, patient=patient or PatientFactory(), service=service, starts_at=starts_at
    )


# --- Which slots come first ------------------------------------------------------


def test_next_available_walks_over_the_weekend(smith, consultation):
    slots = next_free_slots(service=consultation, doctor=smith, from_date=FRIDAY, limit=5)

    assert seen(slots) == [
        "Fri 04 09:00 Smith",
        "Fri 04 09:15 Smith",
        "Fri 04 09:30 Smith",
        "Mon 07 09:00 Smith",
        "Mon 07 09:15 Smith",
    ]


def test_next_available_skips_a_fully_booked_day(smith, consultation):
    taken(smith, at(MONDAY, 9), consultation)
    taken(smith, at(MONDAY, 9, 30), consultation)

    slots = next_free_slots(service=consultation, doctor=smith, from_date=MONDAY, limit=2)

    assert seen(slots) == ["Fri 04 09:00 Smith", "Fri 04 09:15 Smith"]


def test_next_available_passes_over_time_off(smith, consultation):
    TimeOffFactory(doctor=smith, starts_at=at(MONDAY, 0), ends_at=at(NEXT_MONDAY, 9, 30))

    slots = next_free_slots(service=consultation, doctor=smith, from_date=MONDAY, limit=2)

    # Back at 09:30 on the Monday after: the first half hour is still away.
    assert seen(slots) == ["Mon 07 09:30 Smith", "Fri 11 09:00 Smith"]


def test_any_doctor_interleaves_the_doctors_by_time(smith, jones, consultation):
    taken(jones, at(MONDAY, 9), consultation)

    slots = next_free_slots(service=consultation, from_date=MONDAY, limit=4)

    assert seen(slots) == [
        "Mon 30 09:00 Smith",
        "Mon 30 09:15 Smith",
        "Mon 30 09:30 Jones",
        "Mon 30 09:30 Smith",
    ]


def test_one_doctor_only_offers_that_doctor(smith, jones, consultation):
    slots = next_free_slots(service=consultation, doctor=jones, from_date=MONDAY, limit=4)

    assert {slot.doctor for slot in slots} == {jones}
    assert len(slots) == 4


def test_the_patients_other_appointments_are_avoided(smith, jones, jane, consultation):
    taken(jones, at(MONDAY, 9), consultation, patient=jane)

    slots = next_free_slots(
        service=consultation, doctor=smith, patient=jane, from_date=MONDAY, limit=2
    )

    assert seen(slots) == ["Mon 30 09:30 Smith", "Fri 04 09:00 Smith"]


def test_the_appointment_being_moved_does_not_take_its_own_time(smith, jane, consultation):
    moving = taken(smith, at(MONDAY, 9), consultation, patient=jane)

    slots = next_free_slots(
        service=consultation, doctor=smith, patient=jane, ignoring=moving, from_date=MONDAY
    )

    assert seen(slots)[:1] == ["Mon 30 09:00 Smith"]


def test_times_already_past_are_not_offered(smith, consultation, time_machine):
    time_machine.move_to(at(MONDAY, 9, 40), tick=False)

    # Asked from last week: it starts from now (less the walk-in grace of 15 minutes).
    slots = next_free_slots(
        service=consultation, doctor=smith, from_date=MONDAY - timedelta(days=7), limit=2
    )

    assert seen(slots) == ["Mon 30 09:30 Smith", "Fri 04 09:00 Smith"]


def test_a_doctor_who_does_not_offer_the_service_is_not_offered(smith, jones, consultation):
    consultation.doctors.set([jones])

    assert {slot.doctor for slot in next_free_slots(service=consultation, from_date=MONDAY)} == {
        jones
    }
    assert next_free_slots(service=consultation, doctor=smith, from_date=MONDAY) == []


def test_slots_keep_the_clock_across_the_change_to_summer_time(doctor, consultation, time_machine):
    time_machine.move_to(at(date(2027, 3, 1), 7), tick=False)
    with_working_hours(doctor, Weekday.SUNDAY, ends=time(9, 30))

    # New York moves its clocks forward on Sunday 14 March 2027.
    slots = next_free_slots(service=consultation, from_date=date(2027, 3, 1), limit=3)

    assert [f"{slot.starts_at.astimezone(NEW_YORK):%d %H:%M}" for slot in slots] == [
        "07 09:00",
        "14 09:00",
        "21 09:00",
    ]
    assert [slot.starts_at.astimezone(UTC).hour for slot in slots] == [14, 13, 13]
    assert all(slot.ends_at - slot.starts_at == timedelta(minutes=30) for slot in slots)


# --- Where it stops ----------------------------------------------------------------


def test_the_search_ends_at_its_horizon(smith, consultation):
    tuesday = MONDAY + timedelta(days=1)

    # Tuesday to Thursday are no working days; the fourth day is Friday.
    assert next_free_slots(service=consultation, from_date=tuesday, horizon_days=3) == []
    assert seen(next_free_slots(service=consultation, from_date=tuesday, horizon_days=4))[:1] == [
        "Fri 04 09:00 Smith"
    ]


def test_nobody_free_for_the_whole_horizon_gives_nothing(smith, consultation):
    TimeOffFactory(doctor=smith, starts_at=at(MONDAY, 0), ends_at=at(MONDAY, 0) + timedelta(90))

    assert next_free_slots(service=consultation, from_date=MONDAY) == []


def test_it_stops_at_the_limit(smith, jones, consultation):
    assert len(next_free_slots(service=consultation, from_date=MONDAY, limit=7)) == 7


def test_a_limit_below_one_is_refused(smith, consultation):
    with pytest.raises(InvalidTimes):
        next_free_slots(service=consultation, from_date=MONDAY, limit=0)


def test_queries_do_not_grow_with_doctors_days_or_history(
    consultation, jane, django_assert_max_num_queries
):
    # Eight doctors, all away for the whole horizon, with a year of past visits:
    # every stretch of the 60 days is read, and the number of queries stays put.
    for _ in range(8):
        doctor = with_working_hours(DoctorFactory(), *Weekday)
        TimeOffFactory(
            doctor=doctor, starts_at=at(MONDAY, 0), ends_at=at(MONDAY, 0) + timedelta(70)
        )
        for weeks in range(1, 53):
            taken(doctor, at(MONDAY, 10) - timedelta(weeks=weeks), consultation)

    # Doctors and their hours (2), then, for each stretch (2, 6, 18 and 34 days),
    # the doctors' appointments, their time off and the patient's appointments.
    with django_assert_max_num_queries(2 + 4 * 3):
        assert next_free_slots(service=consultation, patient=jane, from_date=MONDAY) == []


# --- Moving to another doctor ---------------------------------------------------------


@pytest.fixture
def booked(smith, jane, consultation, receptionist):
    return book_appointment(
        patient=jane,
        doctor=smith,
        service=consultation,
        starts_at=at(MONDAY, 9),
        booked_by=receptionist,
    )


def test_an_appointment_moves_to_another_doctor_keeping_its_status(booked, jones, receptionist):
    moved = reschedule_appointment(
        appointment=booked, starts_at=at(FRIDAY, 9, 30), doctor=jones, by=receptionist
    )

    moved.refresh_from_db()
    assert (moved.doctor, moved.starts_at, moved.status) == (jones, at(FRIDAY, 9, 30), "booked")
    change = moved.changes.get(action=AppointmentChange.Action.RESCHEDULED)
    assert (change.from_doctor, change.to_doctor) == (booked.doctor, jones)
    assert (change.from_starts_at, change.to_starts_at) == (at(MONDAY, 9), at(FRIDAY, 9, 30))
    assert change.doctor_changed


def test_the_same_time_with_another_doctor_is_a_move(booked, jones):
    moved = reschedule_appointment(
        appointment=booked, starts_at=at(MONDAY, 9), doctor=jones, by=None
    )

    assert moved.doctor == jones


def test_the_same_doctor_and_time_is_no_move(booked, smith):
    with pytest.raises(InvalidTimes):
        reschedule_appointment(appointment=booked, starts_at=at(MONDAY, 9), doctor=smith, by=None)


def test_a_move_within_the_doctors_diary_records_no_doctors(booked):
    reschedule_appointment(appointment=booked, starts_at=at(MONDAY, 9, 30), by=None)

    change = booked.changes.get(action=AppointmentChange.Action.RESCHEDULED)
    assert (change.from_doctor, change.to_doctor, change.doctor_changed) == (None, None, False)


def test_moving_onto_the_other_doctors_appointment_is_refused(booked, jones, consultation):
    taken(jones, at(MONDAY, 9, 15), consultation)

    with pytest.raises(Overlap) as refusal:
        reschedule_appointment(appointment=booked, starts_at=at(MONDAY, 9), doctor=jones, by=None)

    assert str(refusal.value) == "Dr Jones already has an appointment 09:15–09:45 on Mon 30 Nov."
    booked.refresh_from_db()
    assert (booked.doctor.family_name, booked.starts_at) == ("Smith", at(MONDAY, 9))
    assert not booked.changes.filter(action=AppointmentChange.Action.RESCHEDULED).exists()


def test_a_doctor_who_does_not_offer_the_service_is_refused(booked, jones, consultation):
    consultation.doctors.set([booked.doctor])

    with pytest.raises(Unavailable) as refusal:
        reschedule_appointment(appointment=booked, starts_at=at(MONDAY, 9), doctor=jones, by=None)

    assert str(refusal.value) == "Dr Jones does not offer Consultation."
    booked.refresh_from_db()
    assert booked.doctor.family_name == "Smith"


def test_outside_the_other_doctors_hours_is_refused(booked, jones):
    with pytest.raises(Unavailable):
        reschedule_appointment(appointment=booked, starts_at=at(MONDAY, 11), doctor=jones, by=None)


def test_booking_a_doctor_who_does_not_offer_the_service_is_refused(smith, jones, jane):
    xray = ServiceFactory(code="xray", name="X-ray", duration_minutes=15)
    xray.doctors.set([jones])

    with pytest.raises(Unavailable, match=r"Dr Smith does not offer X-ray\."):
        book_appointment(
            patient=jane, doctor=smith, service=xray, starts_at=at(MONDAY, 9), booked_by=None
        )


def test_the_move_signal_names_the_previous_doctor(booked, smith, jones):
    sent = []

    def receive(**kwargs):
        sent.append(kwargs)

    signals.appointment_rescheduled.connect(receive)
    try:
        reschedule_appointment(appointment=booked, starts_at=at(MONDAY, 9), doctor=jones, by=None)
    finally:
        signals.appointment_rescheduled.disconnect(receive)

    assert [(call["previous_doctor"], call["appointment"].doctor) for call in sent] == [
        (smith, jones)
    ]


def test_both_doctors_and_the_patient_are_told_of_the_move(booked, smith, jones):
    reschedule_appointment(appointment=booked, starts_at=at(MONDAY, 9, 30), doctor=jones, by=None)

    told = {
        (note.template, note.user_id or "patient"): note.body
        for note in Notification.objects.filter(template__contains="moved")
        | Notification.objects.filter(template="appointment_rescheduled")
    }
    assert told == {
        ("appointment_rescheduled", "patient"): (
            "Riverside Clinic: Jane, your appointment with Dr Jones has moved to "
            "Mon 30 Nov at 9:30 AM. Reply X if the new time does not suit you."
        ),
        ("doctor_appointment_moved_in", jones.user_id): (
            "Jane Doe moved to you: Mon 30 Nov at 9:30 AM (was Mon 30 Nov at 9:00 AM with "
            "Dr Smith)."
        ),
        ("doctor_appointment_moved_away", smith.user_id): (
            "Jane Doe (Mon 30 Nov at 9:00 AM) moved to Dr Jones, Mon 30 Nov at 9:30 AM; "
            "the slot is free."
        ),
    }


def test_a_confirmed_appointment_moved_to_another_doctor_keeps_its_reminders(booked, jones):
    confirmed = confirm_appointment(appointment=booked, by=None)
    reschedule_appointment(appointment=confirmed, starts_at=at(FRIDAY, 9), doctor=jones, by=None)

    reminders = Notification.objects.filter(template="appointment_reminder")
    assert sorted(
        (note.status, note.send_after) for note in reminders if note.status == "pending"
    ) == [("pending", at(FRIDAY - timedelta(days=1), 9)), ("pending", at(FRIDAY, 7))]
