"""The scheduling messages say days and times as the pages do: the day's names
through Django's date format (the active language), the time in the clinic's
format (settings.CLINIC_TIME_FORMAT, 24 h or 12 h)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from clinic.kernel.dates import format_day
from doctors.models import Weekday
from scheduling.rebooking import Leave, Timetable, leave_words
from scheduling.views.common import describe
from tests.clock import MONDAY, at
from tests.factories import AppointmentFactory, DoctorFactory, PatientFactory, WorkingHoursFactory


@pytest.fixture
def anna_at_half_past_two(db):
    return AppointmentFactory(
        doctor=DoctorFactory(family_name="Smith"),
        patient=PatientFactory(given_name="Anna", family_name="Smithson"),
        starts_at=at(MONDAY, 14, 30),
    )


@pytest.mark.parametrize(
    ("clock", "words"),
    [
        ("24h", "Anna Smithson with Dr Smith on Mon 30 Nov at 14:30"),
        ("12h", "Anna Smithson with Dr Smith on Mon 30 Nov at 2:30 PM"),
    ],
)
def test_an_appointment_is_described_in_the_clinics_time_format(
    settings, anna_at_half_past_two, clock, words
):
    settings.CLINIC_TIME_FORMAT = clock

    assert describe(anna_at_half_past_two) == words


@pytest.mark.parametrize(
    ("clock", "words"),
    [
        ("24h", "Time off Mon 30 Nov 13:00 – Tue 1 Dec 09:30 (Training)."),
        ("12h", "Time off Mon 30 Nov 1:00 PM – Tue 1 Dec 9:30 AM (Training)."),
    ],
)
def test_time_off_is_said_in_the_clinics_time_format(settings, clock, words):
    settings.CLINIC_TIME_FORMAT = clock
    leave = Leave(at(MONDAY, 13), at(MONDAY.replace(day=1, month=12), 9, 30), "Training")

    assert leave_words(leave) == words


def test_working_hours_are_said_in_the_clinics_time_format(settings, anna_at_half_past_two):
    settings.CLINIC_TIME_FORMAT = "12h"
    hours = WorkingHoursFactory(
        doctor=anna_at_half_past_two.doctor,
        weekday=Weekday.MONDAY,
        starts=time(8),
        ends=time(12, 30),
    )

    refusal = Timetable(hours=[hours], time_off=[]).refusal(anna_at_half_past_two)

    assert refusal == "Working hours on Monday are now 8:00 AM–12:30 PM."


def test_a_day_is_formatted_in_the_clinics_zone():
    # 02:00 UTC on Tuesday is still Monday evening in New York.
    assert format_day(datetime(2026, 12, 1, 2, 0, tzinfo=UTC)) == "Mon 30 Nov"
