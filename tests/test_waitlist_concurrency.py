"""The waitlist under real concurrency (issue 18): answers to one offer that arrive
at once, and bookings of a held time, each on its own thread and connection.

On PostgreSQL the offer's row lock and the exclusion constraints settle each race;
on SQLite the IMMEDIATE write transactions make the attempts take turns.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest

from online.models import WaitlistEntry, WaitlistOffer
from online.waitlist import OfferGone, accept_offer, expire_offers, join_waitlist, refill
from scheduling.exceptions import Overlap
from scheduling.models import Appointment, AppointmentChange, Status
from scheduling.services import book_appointment
from tests.clock import MONDAY, at
from tests.concurrency import all_at_once
from tests.factories import PatientFactory
from tests.helpers import COMMITTED_DATA

pytestmark = COMMITTED_DATA

NEXT_MONDAY = MONDAY + timedelta(days=7)
Via = AppointmentChange.Via


@pytest.fixture(autouse=True)
def monday_morning(time_machine) -> None:
    time_machine.move_to(at(MONDAY, 8), tick=False)


@pytest.fixture
def offer(smith, consultation) -> WaitlistOffer:
    """Dr Smith's next Monday 10:00 freed and held for the first of two waiters."""
    for _ in range(2):
        join_waitlist(
            patient=PatientFactory(),
            service=consultation,
            doctor=None,
            date_from=NEXT_MONDAY,
            date_to=NEXT_MONDAY,
            source=WaitlistEntry.Source.DESK,
        )
    [made] = refill(doctor=smith, starts_at=at(NEXT_MONDAY, 10), ends_at=at(NEXT_MONDAY, 10, 30))
    return made


def test_the_link_and_a_yes_at_once_book_the_time_once(offer):
    results = all_at_once(
        [
            lambda: accept_offer(offer=offer, via=Via.ONLINE),
            lambda: accept_offer(offer=offer, via=Via.SMS),
        ]
    )

    assert all(isinstance(result, Appointment) for result in results), results
    assert {result.pk for result in results} == {offer.hold_id}
    booked = Appointment.objects.get(pk=offer.hold_id)
    assert booked.status == Status.BOOKED
    assert booked.changes.filter(action=AppointmentChange.Action.HOLD_TAKEN).count() == 1


def test_clerks_booking_a_held_time_are_all_refused_while_the_waiter_takes_it(
    offer, smith, consultation
):
    clerks = [
        partial(
            book_appointment,
            patient=PatientFactory(),
            doctor=smith,
            service=consultation,
            starts_at=at(NEXT_MONDAY, 10),
            booked_by=None,
        )
        for _ in range(10)
    ]

    results = all_at_once([lambda: accept_offer(offer=offer, via=Via.SMS), *clerks])

    assert isinstance(results[0], Appointment)
    assert all(isinstance(result, Overlap) for result in results[1:]), results
    assert list(
        Appointment.objects.filter(starts_at=at(NEXT_MONDAY, 10)).exclude(status=Status.RELEASED)
    ) == [results[0]]


def test_a_late_yes_racing_the_lapse_leaves_the_time_to_exactly_one_waiter(offer, time_machine):
    """The first waiter's hold lapses at 08:15; their YES and the worker's pass-on
    arrive together. Whoever locks the offer first decides: the offer ends lapsed
    either way, and the time is held for the second waiter, once."""
    time_machine.move_to(at(MONDAY, 8, 15), tick=False)

    results = all_at_once([lambda: accept_offer(offer=offer, via=Via.SMS), expire_offers])

    assert isinstance(results[0], OfferGone), results
    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.EXPIRED
    open_offers = WaitlistOffer.objects.filter(status=WaitlistOffer.Status.OPEN)
    assert open_offers.count() == 1
    assert open_offers.get().entry_id != offer.entry_id
    assert (
        Appointment.objects.filter(status=Status.HELD, starts_at=at(NEXT_MONDAY, 10)).count() == 1
    )
