from __future__ import annotations

from datetime import date, time

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from doctors.models import Doctor, TimeOff, Weekday, WorkingHours
from tests.clock import at
from tests.factories import DoctorFactory, TimeOffFactory, WorkingHoursFactory


def test_doctor_is_named_to_patients_by_family_name(db):
    doctor = DoctorFactory(given_name="Alan", family_name="Smith")

    assert str(doctor) == "Dr Smith"
    assert doctor.full_name == "Alan Smith"


# --- Working hours -------------------------------------------------------------


def test_a_day_may_have_a_split_shift(db):
    morning = WorkingHoursFactory(starts=time(9), ends=time(12))
    afternoon = WorkingHours(
        doctor=morning.doctor, weekday=morning.weekday, starts=time(13), ends=time(17)
    )

    afternoon.full_clean()


def test_back_to_back_ranges_do_not_overlap(db):
    morning = WorkingHoursFactory(starts=time(9), ends=time(12))
    afternoon = WorkingHours(
        doctor=morning.doctor, weekday=morning.weekday, starts=time(12), ends=time(17)
    )

    afternoon.full_clean()


def test_overlapping_ranges_on_one_day_are_refused(db):
    morning = WorkingHoursFactory(starts=time(9), ends=time(12))
    clash = WorkingHours(
        doctor=morning.doctor, weekday=morning.weekday, starts=time(11), ends=time(14)
    )

    with pytest.raises(ValidationError) as error:
        clash.full_clean()

    assert error.value.messages == [
        "Monday hours 09:00–12:00 and 11:00–14:00 overlap; a doctor's ranges on one day must not."
    ]


def test_the_same_hours_on_another_day_or_doctor_are_fine(db):
    monday = WorkingHoursFactory(starts=time(9), ends=time(12))

    WorkingHours(
        doctor=monday.doctor, weekday=Weekday.TUESDAY, starts=time(9), ends=time(12)
    ).full_clean()
    WorkingHours(
        doctor=DoctorFactory(), weekday=Weekday.MONDAY, starts=time(9), ends=time(12)
    ).full_clean()


def test_hours_that_end_before_they_start_are_refused(db):
    hours = WorkingHours(
        doctor=DoctorFactory(), weekday=Weekday.MONDAY, starts=time(17), ends=time(9)
    )

    with pytest.raises(ValidationError, match="Working hours must end after they start"):
        hours.full_clean()


def test_database_refuses_hours_ending_before_they_start(db):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        WorkingHoursFactory(starts=time(17), ends=time(9))


# --- Time off ---------------------------------------------------------------------


def test_time_off_must_end_after_it_starts(db):
    leave = TimeOff(
        doctor=DoctorFactory(),
        starts_at=at(date(2026, 12, 24), 0),
        ends_at=at(date(2026, 12, 20), 0),
    )

    with pytest.raises(ValidationError, match="Time off must end after it starts"):
        leave.full_clean()


# --- The manager sets hours in admin -------------------------------------------------


def doctor_admin_form(doctor: Doctor, hours: list[tuple[int, str, str]]) -> dict[str, str]:
    data = {
        "given_name": doctor.given_name,
        "family_name": doctor.family_name,
        "specialty": str(doctor.specialty_id),
        "phone": str(doctor.phone),
        "email": doctor.email,
        "is_active": "on",
        "user": str(doctor.user_id),
        "working_hours-TOTAL_FORMS": str(len(hours)),
        "working_hours-INITIAL_FORMS": "0",
        "time_off-TOTAL_FORMS": "0",
        "time_off-INITIAL_FORMS": "0",
    }
    for index, (weekday, starts, ends) in enumerate(hours):
        data |= {
            f"working_hours-{index}-weekday": str(weekday),
            f"working_hours-{index}-starts": starts,
            f"working_hours-{index}-ends": ends,
        }
    return data


def test_manager_sets_a_doctors_weekly_hours_in_admin(manager_client, doctor):
    url = reverse("admin:doctors_doctor_change", args=[doctor.pk])

    response = manager_client.post(
        url,
        doctor_admin_form(
            doctor, [(0, "09:00", "12:30"), (0, "13:30", "17:00"), (2, "08:00", "12:00")]
        ),
    )

    assert response.status_code == 302
    assert [str(hours) for hours in doctor.working_hours.all()] == [
        "Monday 09:00–12:30",
        "Monday 13:30–17:00",
        "Wednesday 08:00–12:00",
    ]


def test_admin_refuses_two_new_overlapping_ranges_together(manager_client, doctor):
    url = reverse("admin:doctors_doctor_change", args=[doctor.pk])

    response = manager_client.post(
        url, doctor_admin_form(doctor, [(0, "09:00", "12:30"), (0, "12:00", "17:00")])
    )

    assert response.status_code == 200
    assert "overlap" in response.content.decode()
    assert not doctor.working_hours.exists()


def test_admin_lists_time_off(manager_client):
    TimeOffFactory(
        starts_at=at(date(2026, 12, 24), 0),
        ends_at=at(date(2026, 12, 27), 0),
    )

    response = manager_client.get(reverse("admin:doctors_timeoff_changelist"))

    assert response.status_code == 200
    assert "Annual leave" in response.content.decode()


# --- Directory ------------------------------------------------------------------------


def test_doctor_directory_shows_active_doctors_with_their_hours(reception_client):
    active = DoctorFactory(family_name="Patel")
    WorkingHoursFactory(doctor=active, weekday=Weekday.FRIDAY, starts=time(8), ends=time(14))
    DoctorFactory(family_name="Retired", is_active=False)

    page = reception_client.get(reverse("doctors:list")).content.decode()

    assert "Dr Patel" in page
    assert "Friday 08:00–14:00" in page
    assert "Dr Retired" not in page


def test_doctor_directory_runs_a_fixed_number_of_queries(
    reception_client, django_assert_num_queries
):
    for doctor in DoctorFactory.create_batch(8):
        WorkingHoursFactory(doctor=doctor)

    # the session with its user and permissions, doctors with specialty, their
    # hours, the bell's unread count, the count of appointments to rebook (the
    # session is saved at most once a minute)
    with django_assert_num_queries(5):
        reception_client.get(reverse("doctors:list"))
