"""Double booking under real concurrency (DESIGN.md sections 2 and 8): however many
clerks book overlapping times at once, one booking stands and every other one gets
a clear `Overlap`, never a 500.

These run on the real database with real threads and real connections. On
PostgreSQL the exclusion constraints settle the race; on SQLite the IMMEDIATE write
transactions make the bookings take turns (the test database is a file there).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TypeVar

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction

from scheduling.exceptions import Overlap
from scheduling.models import Appointment, AppointmentChange, Status
from scheduling.services import book_appointment
from tests.clock import MONDAY, at
from tests.concurrency import all_at_once, waiting_on_this_transaction
from tests.factories import AppointmentFactory, PatientFactory
from tests.helpers import COMMITTED_DATA

# Real threads need committed data (tests/helpers.py).
pytestmark = COMMITTED_DATA

CLERKS = 50

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite has no exclusion constraint; there the booking service's check, "
    "serialized by IMMEDIATE transactions, is the only guard",
)

T = TypeVar("T")


def overlapping_start(attempt: int) -> datetime:
    """Starts between 10:00 and 10:14: any two 30-minute visits overlap."""
    return at(MONDAY, 10) + timedelta(minutes=attempt % 15)


@pytest.fixture(autouse=True)
def monday_early(time_machine) -> None:
    time_machine.move_to(at(MONDAY, 7), tick=False)


def booking(**arguments) -> Callable[[], Appointment]:
    return lambda: book_appointment(booked_by=None, **arguments)


def assert_one_booked_and_the_rest_refused(results: list) -> None:
    unexpected = [result for result in results if not isinstance(result, Appointment | Overlap)]
    assert unexpected == []
    booked = [result for result in results if isinstance(result, Appointment)]
    assert len(booked) == 1
    assert sum(isinstance(result, Overlap) for result in results) == len(results) - 1
    assert list(Appointment.objects.all()) == booked
    assert AppointmentChange.objects.count() == 1


# --- Many clerks at once ----------------------------------------------------------


def test_fifty_clerks_booking_one_doctor_at_once_leave_one_appointment(smith, consultation):
    patients = PatientFactory.create_batch(CLERKS)
    attempts = [
        booking(patient=patient, doctor=smith, service=consultation, starts_at=overlapping_start(n))
        for n, patient in enumerate(patients)
    ]

    results = all_at_once(attempts)

    assert_one_booked_and_the_rest_refused(results)
    refusals = {
        str(result).split(" already")[0] for result in results if isinstance(result, Overlap)
    }
    assert refusals == {"Dr Smith"}


def test_fifty_clerks_booking_one_patient_with_two_doctors_leave_one_appointment(
    smith, jones, jane, consultation
):
    attempts = [
        booking(
            patient=jane,
            doctor=(smith, jones)[n % 2],
            service=consultation,
            starts_at=overlapping_start(n),
        )
        for n in range(CLERKS)
    ]

    results = all_at_once(attempts)

    assert_one_booked_and_the_rest_refused(results)


# --- The database itself (PostgreSQL) ---------------------------------------------


@postgresql_only
@pytest.mark.parametrize(
    ("same", "constraint"),
    [("doctor", "appointment_no_doctor_overlap"), ("patient", "appointment_no_patient_overlap")],
)
def test_database_refuses_an_overlap_that_skips_the_service(
    smith, jones, jane, bob, consultation, same, constraint
):
    AppointmentFactory(doctor=smith, patient=jane, service=consultation, starts_at=at(MONDAY, 10))
    rival = (
        {"doctor": smith, "patient": bob}
        if same == "doctor"
        else {"doctor": jones, "patient": jane}
    )

    with pytest.raises(IntegrityError) as refusal, transaction.atomic():
        AppointmentFactory(service=consultation, starts_at=at(MONDAY, 10, 15), **rival)

    assert refusal.value.__cause__.diag.constraint_name == constraint
    assert Appointment.objects.count() == 1


@postgresql_only
def test_database_lets_a_cancelled_appointment_share_the_time(smith, jane, bob, consultation):
    AppointmentFactory(
        doctor=smith,
        patient=jane,
        service=consultation,
        starts_at=at(MONDAY, 10),
        status="cancelled",
    )

    AppointmentFactory(doctor=smith, patient=bob, service=consultation, starts_at=at(MONDAY, 10))

    assert Appointment.objects.filter(status=Status.BOOKED).count() == 1


def book_in_another_session(pool: ThreadPoolExecutor, **arguments) -> Future:
    """Starts a booking on a connection of its own and returns once that booking is
    waiting for a lock held by this test's open transaction."""
    return waiting_on_this_transaction(pool, lambda: book_appointment(booked_by=None, **arguments))


@postgresql_only
def test_a_race_lost_at_the_database_is_reported_as_an_overlap(smith, jane, bob, consultation):
    with ThreadPoolExecutor(max_workers=1) as pool:
        with transaction.atomic():
            # Bob's visit is written but not committed: Jane's booking checks, sees
            # nothing in the way, inserts, and waits at the exclusion constraint.
            AppointmentFactory(
                doctor=smith, patient=bob, service=consultation, starts_at=at(MONDAY, 10)
            )
            janes_booking = book_in_another_session(
                pool, patient=jane, doctor=smith, service=consultation, starts_at=at(MONDAY, 10, 15)
            )
        # Bob's visit is committed now; Jane's insert is refused by the database.
        with pytest.raises(Overlap) as refusal:
            janes_booking.result(timeout=30)

    assert str(refusal.value) == "Dr Smith already has an appointment 10:00–10:30 on Mon 30 Nov."
    assert list(Appointment.objects.values_list("patient", flat=True)) == [bob.pk]


@postgresql_only
def test_a_booking_aborted_in_a_deadlock_is_reported_as_an_overlap(
    smith, jones, jane, bob, consultation
):
    with ThreadPoolExecutor(max_workers=1) as pool:
        with transaction.atomic():
            # Jane's visit with Dr Jones, not yet committed. Jane's booking with Dr
            # Smith takes its place in the doctors' constraint, then waits for this
            # transaction at the patients' one.
            AppointmentFactory(
                doctor=jones, patient=jane, service=consultation, starts_at=at(MONDAY, 10)
            )
            janes_booking = book_in_another_session(
                pool, patient=jane, doctor=smith, service=consultation, starts_at=at(MONDAY, 10, 15)
            )
            # Bob with Dr Smith now waits for Jane's booking: each waits for the
            # other, and PostgreSQL aborts the one that has waited longer, Jane's.
            AppointmentFactory(
                doctor=smith, patient=bob, service=consultation, starts_at=at(MONDAY, 10)
            )
        with pytest.raises(Overlap) as refusal:
            janes_booking.result(timeout=30)

    # The deadlock, not the constraint, refused Jane's booking.
    assert isinstance(refusal.value.__cause__, OperationalError)
    assert Appointment.objects.filter(doctor=smith).get().patient == bob
