"""Free-slot search and the reception's day (DESIGN.md sections 2 and 8): which
start times are offered, across daylight-saving changes, in a fixed number of
queries whatever the size of the diary.

The scene: Monday 30 November 2026 in New York, the clock at 07:00. Dr Smith works
Mondays from 09:00 to 11:00; a consultation lasts 30 minutes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from doctors.models import Weekday
from scheduling.exceptions import InvalidTimes
from scheduling.models import Status
from scheduling.selectors import Slot, day_schedule, free_slots
from tests.clock import MONDAY, at
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    ServiceFactory,
    TimeOffFactory,
    WorkingHoursFactory,
    with_working_hours,
)


def local_times(slots: list[Slot]) -> list[str]:
    """The slots' start times as reception reads them, on the clinic's clock."""
    zone = ZoneInfo(settings.CLINIC_TIME_ZONE)
    return [f"{slot.starts_at.astimezone(zone):%H:%M}" for slot in slots]


@pytest.fixture(autouse=True)
def monday_early(time_machine) -> None:
    time_machine.move_to(at(MONDAY, 7), tick=False)


@pytest.fixture
def smith(doctor):
    return with_working_hours(doctor, Weekday.MONDAY, ends=time(11))


def mondays_slots(service, **filters) -> list[Slot]:
    return free_slots(service=service, date_from=MONDAY, date_to=MONDAY, **filters)


# --- Which times are offered --------------------------------------------------------


def test_slots_start_every_15_minutes_inside_working_hours(smith, consultation):
    slots = mondays_slots(consultation, doctor=smith)

    assert local_times(slots) == ["09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30"]
    assert all(slot.ends_at - slot.starts_at == timedelta(minutes=30) for slot in slots)
    assert {slot.doctor for slot in slots} == {smith}


def test_a_long_service_must_end_by_the_close_of_the_window(smith):
    long_visit = ServiceFactory(code="long", name="Long visit", duration_minutes=90)

    slots = mondays_slots(long_visit, doctor=smith)

    assert local_times(slots) == ["09:00", "09:15", "09:30"]


def test_no_slot_spans_the_break_of_a_split_shift(smith, consultation):
    WorkingHoursFactory(doctor=smith, weekday=Weekday.MONDAY, starts=time(12), ends=time(13))

    slots = mondays_slots(consultation, doctor=smith)

    assert local_times(slots)[-4:] == ["10:30", "12:00", "12:15", "12:30"]


def test_no_slots_on_a_day_the_doctor_does_not_work(smith, consultation):
    tuesday = MONDAY + timedelta(days=1)

    assert free_slots(service=consultation, date_from=tuesday, date_to=tuesday) == []


def test_booked_appointments_take_their_slots(smith, consultation, jane):
    AppointmentFactory(
        doctor=smith, patient=jane, service=consultation, starts_at=at(MONDAY, 9, 30)
    )

    slots = mondays_slots(consultation, doctor=smith)

    assert local_times(slots) == ["09:00", "10:00", "10:15", "10:30"]


def test_time_off_takes_its_slots(smith, consultation):
    TimeOffFactory(doctor=smith, starts_at=at(MONDAY, 10), ends_at=at(MONDAY, 12))

    slots = mondays_slots(consultation, doctor=smith)

    assert local_times(slots) == ["09:00", "09:15", "09:30"]


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.NO_SHOW])
def test_cancelled_and_no_show_appointments_leave_their_slots_free(
    smith, consultation, jane, status
):
    AppointmentFactory(
        doctor=smith, patient=jane, service=consultation, starts_at=at(MONDAY, 9, 30), status=status
    )

    slots = mondays_slots(consultation, doctor=smith)

    assert "09:30" in local_times(slots)
    assert len(slots) == 7


def test_patients_appointments_with_other_doctors_take_their_slots(smith, consultation, jane):
    dentist = DoctorFactory(family_name="Jones")
    AppointmentFactory(doctor=dentist, patient=jane, service=consultation, starts_at=at(MONDAY, 10))

    for_jane = mondays_slots(consultation, doctor=smith, patient=jane)
    for_anyone = mondays_slots(consultation, doctor=smith)

    assert local_times(for_jane) == ["09:00", "09:15", "09:30", "10:30"]
    assert len(for_anyone) == 7


def test_any_doctor_means_every_active_doctor(smith, consultation):
    jones = DoctorFactory(family_name="Jones")
    WorkingHoursFactory(doctor=jones, weekday=Weekday.MONDAY, starts=time(10), ends=time(11))
    retired = DoctorFactory(family_name="Adams", is_active=False)
    WorkingHoursFactory(doctor=retired, weekday=Weekday.MONDAY, starts=time(9), ends=time(11))

    slots = mondays_slots(consultation)

    assert {slot.doctor for slot in slots} == {smith, jones}
    offered = [
        (time_of_day, str(slot.doctor))
        for time_of_day, slot in zip(local_times(slots), slots, strict=True)
    ]
    assert offered[3:7] == [
        ("09:45", "Dr Smith"),
        ("10:00", "Dr Jones"),
        ("10:00", "Dr Smith"),
        ("10:15", "Dr Jones"),
    ]


def test_an_inactive_doctor_has_no_slots(smith, consultation):
    smith.is_active = False
    smith.save()

    assert mondays_slots(consultation, doctor=smith) == []


def test_slots_in_the_past_are_not_offered(smith, consultation, settings, time_machine):
    settings.SCHEDULING_WALK_IN_GRACE_MINUTES = 0
    time_machine.move_to(at(MONDAY, 10, 5), tick=False)

    slots = mondays_slots(consultation, doctor=smith)

    assert local_times(slots) == ["10:15", "10:30"]


def test_a_slot_begun_within_the_walk_in_grace_is_still_offered(smith, consultation, time_machine):
    time_machine.move_to(at(MONDAY, 10, 5), tick=False)

    slots = mondays_slots(consultation, doctor=smith)

    assert local_times(slots) == ["10:00", "10:15", "10:30"]


# --- The range searched ---------------------------------------------------------------


def test_a_range_ending_before_it_starts_is_refused(consultation):
    with pytest.raises(InvalidTimes) as refusal:
        free_slots(service=consultation, date_from=MONDAY, date_to=MONDAY - timedelta(days=1))

    assert str(refusal.value) == "The end date is before the start date."


def test_a_range_longer_than_31_days_is_refused(consultation):
    with pytest.raises(InvalidTimes) as refusal:
        free_slots(service=consultation, date_from=MONDAY, date_to=MONDAY + timedelta(days=31))

    assert str(refusal.value) == "Search at most 31 days at a time."


def test_a_range_of_31_days_is_searched(smith, consultation):
    slots = free_slots(service=consultation, date_from=MONDAY, date_to=MONDAY + timedelta(days=30))

    # Mondays 30 Nov, 7, 14, 21 and 28 Dec: seven slots each.
    assert len(slots) == 5 * 7


# --- Daylight saving --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "change_day", "utc_hour_before", "utc_hour_after"),
    [
        ("America/New_York", date(2026, 3, 8), 14, 13),
        ("America/New_York", date(2026, 11, 1), 13, 14),
        ("Europe/London", date(2026, 3, 29), 9, 8),
        ("Europe/London", date(2026, 10, 25), 8, 9),
    ],
    ids=["new-york-spring", "new-york-autumn", "london-spring", "london-autumn"],
)
def test_slots_keep_local_times_across_a_daylight_saving_change(
    settings, time_machine, doctor, consultation, zone, change_day, utc_hour_before, utc_hour_after
):
    settings.CLINIC_TIME_ZONE = settings.TIME_ZONE = zone
    time_machine.move_to(datetime(2026, 1, 1, tzinfo=UTC), tick=False)
    with_working_hours(doctor, *Weekday, starts=time(9), ends=time(10))
    week = [change_day + timedelta(days=offset) for offset in range(-3, 4)]

    slots = free_slots(service=consultation, date_from=week[0], date_to=week[-1])

    local = ZoneInfo(zone)
    for day in week:
        days_slots = [slot for slot in slots if slot.starts_at.astimezone(local).date() == day]
        utc_hour = utc_hour_before if day < change_day else utc_hour_after
        assert local_times(days_slots) == ["09:00", "09:15", "09:30"], day
        assert [slot.starts_at for slot in days_slots] == [
            datetime.combine(day, time(utc_hour, minute), tzinfo=UTC) for minute in (0, 15, 30)
        ], day
        assert all(slot.ends_at - slot.starts_at == timedelta(minutes=30) for slot in days_slots)


# --- Fixed query counts -------------------------------------------------------------------


def fill_the_diary(doctors: list, service, count: int, days: int) -> None:
    """`count` appointments spread over the doctors and `days` days from Monday,
    every half hour from 09:00, none overlapping another."""
    for index in range(count):
        doctor = doctors[index % len(doctors)]
        turn = index // len(doctors)
        day, half_hours = turn % days, turn // days
        AppointmentFactory(
            doctor=doctor,
            service=service,
            starts_at=at(MONDAY, 9) + timedelta(days=day, minutes=30 * half_hours),
        )


@pytest.fixture
def four_doctors(db) -> list:
    doctors = DoctorFactory.create_batch(4)
    for doctor in doctors:
        for weekday in (Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY):
            WorkingHoursFactory(doctor=doctor, weekday=weekday, starts=time(9), ends=time(17))
        TimeOffFactory(
            doctor=doctor,
            starts_at=at(MONDAY, 12) + timedelta(days=2),
            ends_at=at(MONDAY, 13) + timedelta(days=2),
        )
    return doctors


@pytest.mark.parametrize("appointments", [5, 50])
def test_a_weeks_search_for_all_doctors_runs_four_queries(
    four_doctors, consultation, django_assert_num_queries, appointments
):
    fill_the_diary(four_doctors, consultation, appointments, days=3)

    # The doctors, their hours, the appointments and the time off in the range.
    with django_assert_num_queries(4):
        slots = free_slots(
            service=consultation, date_from=MONDAY, date_to=MONDAY + timedelta(days=6)
        )
        offered = {
            (slot.doctor.pk, slot.doctor.display_name, slot.starts_at.date()) for slot in slots
        }

    # Every doctor has time left on each of the three days they work.
    assert len(offered) == 4 * 3


@pytest.mark.parametrize("appointments", [5, 50])
def test_the_days_schedule_runs_four_queries(
    four_doctors, consultation, django_assert_num_queries, appointments
):
    fill_the_diary(four_doctors, consultation, appointments, days=1)

    # The appointments' cards (with patient and service), the doctors and their
    # hours, and their time off (drawn on the grid).
    with django_assert_num_queries(4):
        columns = day_schedule(day=MONDAY)
        shown = [
            (column.doctor.display_name, card.patient_name, card.service_name)
            for column in columns
            for card in column.appointments
        ]

    assert len(shown) == appointments
    assert all(column.windows for column in columns)
