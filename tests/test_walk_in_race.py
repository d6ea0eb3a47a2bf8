"""Walk-ins under real concurrency: a walk-in whose time is taken between its search
and its insert (by a booking it could not see, refused at the database's exclusion
constraint) takes the next free minute instead; clerks booking walk-ins with one
doctor at once each get their own time.

Real threads and connections on the real database, as in test_booking_concurrency.
The clock: Tuesday 1 December 2026, 10:00 in New York; Dr Smith works 09:00-17:00.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, time

import pytest
from django.db import connection, transaction

from doctors.models import Weekday
from scheduling.models import Appointment, Status
from scheduling.services import book_walk_in
from tests.clock import NEW_YORK
from tests.concurrency import all_at_once, waiting_on_this_transaction
from tests.factories import AppointmentFactory, PatientFactory, ServiceFactory, WorkingHoursFactory

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("migrated_data_restored"),
]


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite has no exclusion constraint to lose a race at",
)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 1, hour, minute, tzinfo=NEW_YORK)


@pytest.fixture(autouse=True)
def ten_oclock(time_machine) -> None:
    time_machine.move_to(at(10), tick=False)


@pytest.fixture
def smith(doctor):
    for weekday in Weekday:
        WorkingHoursFactory(doctor=doctor, weekday=weekday, starts=time(9), ends=time(17))
    return doctor


@pytest.fixture
def consultation(db):
    return ServiceFactory(code="consult", name="Consultation", duration_minutes=30)


def walk_in_in_another_session(pool: ThreadPoolExecutor, **arguments) -> Future:
    """Starts a walk-in on a connection of its own and returns once it waits for a
    lock held by this test's open transaction."""
    return waiting_on_this_transaction(pool, lambda: book_walk_in(by=None, **arguments))


@postgresql_only
def test_a_walk_in_that_loses_its_time_at_the_database_takes_the_next_free_minute(
    smith, consultation
):
    jane, bob = PatientFactory(given_name="Jane"), PatientFactory(given_name="Bob")
    with ThreadPoolExecutor(max_workers=1) as pool:
        with transaction.atomic():
            # Bob's 10:00 visit is written but not committed: Jane's walk-in finds
            # 10:00 free, inserts, and waits at the exclusion constraint.
            AppointmentFactory(doctor=smith, patient=bob, service=consultation, starts_at=at(10))
            janes_walk_in = walk_in_in_another_session(
                pool, patient=jane, service=consultation, doctor=smith
            )
        # Bob's visit is committed; the database refuses Jane's 10:00, so she is
        # booked when Bob's visit ends.
        appointment = janes_walk_in.result(timeout=30)

    assert (appointment.starts_at, appointment.status) == (at(10, 30), Status.ARRIVED)
    assert Appointment.objects.filter(patient=jane).count() == 1


def test_clerks_booking_walk_ins_at_once_each_get_their_own_time(smith, consultation):
    patients = PatientFactory.create_batch(3)

    results = all_at_once(
        [
            lambda patient=patient: book_walk_in(
                patient=patient, service=consultation, doctor=smith, by=None
            )
            for patient in patients
        ]
    )

    assert all(isinstance(result, Appointment) for result in results), results
    assert sorted(result.starts_at for result in results) == [at(10), at(10, 30), at(11)]
    assert set(Appointment.objects.values_list("status", flat=True)) == {Status.ARRIVED}
