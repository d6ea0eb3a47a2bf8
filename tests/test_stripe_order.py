"""Stripe's events in any order, none lost (issue 14): an event about a payment not
known yet waits for it, the reconciliation finds what Stripe holds and the clinic
has not recorded (refunds and disputes made in Stripe's dashboard, events lost), and
whatever the order, the duplicates and the replays, every invoice ends with exactly
what Stripe holds.

The clock stands at Monday 2 March 2026, 17:00 UTC; Stripe signs with that time.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client

from payments.models import (
    DISPUTE_TAKES_MONEY,
    Dispute,
    DisputeStatus,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Refund,
    StripeEvent,
)
from payments.money import from_minor_units
from payments.reconciliation import reconcile_pending_payments
from payments.services import close_online_payment
from payments.tasks import process_stripe_event
from tests.factories import InvoiceFactory
from tests.fakes import stripe as fake
from tests.test_stripe_webhooks import checkout, deliver, paid, process_all, refreshed

NOW = datetime(2026, 3, 2, 17, tzinfo=UTC)
D = Decimal

Outcome = StripeEvent.Outcome

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def afternoon(time_machine) -> None:
    time_machine.move_to(NOW, tick=False)


def store(event: dict) -> StripeEvent:
    """What the webhook stores for a signed event (tests/test_stripe_webhooks.py
    checks it does), without the HTTP round trip: for the tests that store
    hundreds."""
    return StripeEvent.objects.create(
        event_id=event["id"], type=event["type"], payload=json.dumps(event)
    )


def again(event: dict) -> dict:
    """The same event resent by hand from Stripe's dashboard: a new id."""
    return {**event, "id": f"{event['id']}_again"}


@contextmanager
def rolled_back() -> Iterator[None]:
    """Whatever the block writes is undone after it (a savepoint): one checkout's
    setup serves many orders of its events."""
    savepoint = transaction.savepoint()
    try:
        yield
    finally:
        transaction.savepoint_rollback(savepoint)


def figures(invoice: Invoice) -> tuple:
    invoice = refreshed(invoice)
    return (
        invoice.status,
        invoice.amount_paid,
        invoice.amount_refunded,
        invoice.amount_disputed,
        invoice.balance,
    )


def expired(session: dict) -> dict:
    return {**session, "status": "expired", "payment_status": "unpaid"}


# --- Every order of one checkout's events ------------------------------------------


def test_one_checkouts_events_in_every_order_end_the_same(fake_stripe):
    """Paid by card, with a stray success and expiry, then refunded in two parts in
    Stripe's dashboard. The charges carry no metadata; each charge.refunded comes
    twice, listing its refunds and with only its refunded total (as newer API
    versions send it): the first part listed first, the rest as a total first.
    Every one of the 120 orders, each event duplicated, ends with what Stripe
    holds."""
    payment = checkout()
    session = fake_stripe.complete(payment.checkout_session_id)
    intent_id = session["payment_intent"]
    fake_stripe.refund(intent_id, 3000)
    partly = [fake_stripe.charge(intent_id, with_refunds=listed) for listed in (True, False)]
    fake_stripe.refund(intent_id, 5000)
    rest = [fake_stripe.charge(intent_id, with_refunds=listed) for listed in (False, True)]
    events = [
        twice(fake_stripe.event("checkout.session.completed", session)),
        twice(fake_stripe.event("checkout.session.async_payment_succeeded", session)),
        twice(fake_stripe.event("checkout.session.expired", expired(session))),
        [fake_stripe.event("charge.refunded", charge) for charge in partly],
        [fake_stripe.event("charge.refunded", charge) for charge in rest],
    ]

    ends = in_every_order(events, payment.invoice)

    assert set(ends) == set(itertools.permutations(pair[0]["id"] for pair in events))
    # Refunded in Stripe's dashboard: money returned, nothing more owed.
    assert set(ends.values()) == {(InvoiceStatus.REFUNDED, D("80.00"), D("80.00"), 0, 0)}


def twice(event: dict) -> list[dict]:
    return [event, again(event)]


def in_every_order(events: list[list[dict]], invoice: Invoice) -> dict[tuple, tuple]:
    """The invoice's figures after the events in each order (by the ids of the
    first of each pair), each event followed by its duplicate and both processed.
    Orders that start alike share the work of their start: each step is a
    savepoint, rolled back before the next event is tried in its place."""
    ends: dict[tuple, tuple] = {}

    def go_on(done: tuple, left: list[list[dict]]) -> None:
        if not left:
            ends[done] = figures(invoice)
        for index, pair in enumerate(left):
            with rolled_back():
                for event in pair:
                    process_stripe_event(store(event).pk)
                go_on((*done, pair[0]["id"]), left[:index] + left[index + 1 :])

    go_on((), events)
    return ends


# --- A refund before its payment ----------------------------------------------------


def process_latest() -> str:
    return process_stripe_event(StripeEvent.objects.latest("pk").pk)


def test_a_refund_of_a_charge_without_metadata_waits_for_its_payment(client, fake_stripe):
    """The refund's event is processed before the checkout's: its charge names only
    a payment intent no payment here knows yet, and carries no metadata."""
    payment = checkout()
    session = fake_stripe.complete(payment.checkout_session_id)
    intent_id = session["payment_intent"]
    fake_stripe.refund(intent_id, 3000)
    charge = fake_stripe.charge(intent_id)
    assert charge["metadata"] == {}
    deliver(client, fake_stripe.event("charge.refunded", charge))

    assert process_all() == [Outcome.WAITING]

    waiting = StripeEvent.objects.get()
    assert (waiting.waiting_for, waiting.attempts, waiting.next_attempt_at) == (
        intent_id,
        1,
        NOW + timedelta(minutes=15),
    )
    assert waiting.detail == (
        f"No payment here knows payment intent {intent_id} (charge {charge['id']}) yet."
    )
    assert not Refund.objects.exists()

    deliver(client, fake_stripe.event("checkout.session.completed", session))
    assert process_latest() == Outcome.APPLIED

    waiting = refreshed(waiting)
    assert (waiting.outcome, waiting.waiting_for, waiting.next_attempt_at) == (
        Outcome.APPLIED,
        "",
        None,
    )
    assert figures(payment.invoice) == (
        InvoiceStatus.PARTIALLY_REFUNDED,
        D("80.00"),
        D("30.00"),
        0,
        0,  # Money returned, nothing more owed.
    )


def test_a_delayed_payments_completion_lets_a_waiting_refund_find_it(client, fake_stripe):
    """A bank debit: the checkout completes unpaid, which is when the payment learns
    its payment intent; a refund can only be of money taken, so it settles it."""
    payment = checkout()
    unpaid = fake_stripe.complete(payment.checkout_session_id, paid=False)
    later = fake_stripe.pay_later(payment.checkout_session_id)
    fake_stripe.refund(unpaid["payment_intent"], 8000)
    deliver(
        client, fake_stripe.event("charge.refunded", fake_stripe.charge(later["payment_intent"]))
    )
    deliver(client, fake_stripe.event("checkout.session.completed", unpaid))
    deliver(client, fake_stripe.event("checkout.session.async_payment_succeeded", later))

    assert process_all() == [Outcome.WAITING, Outcome.APPLIED, Outcome.IGNORED]

    assert StripeEvent.objects.filter(outcome=Outcome.APPLIED).count() == 2
    assert figures(payment.invoice) == (
        InvoiceStatus.REFUNDED,
        D("80.00"),
        D("80.00"),
        0,
        0,  # Money returned, nothing more owed.
    )


def test_a_refund_waiting_for_a_lost_completion_is_applied_by_the_reconciliation(
    client, fake_stripe, time_machine
):
    """The checkout's own event never comes: the reconciliation settles the pending
    payment, and with it the refund waiting for it."""
    payment = checkout()
    session = fake_stripe.complete(payment.checkout_session_id)
    fake_stripe.refund(session["payment_intent"], 3000)
    deliver(
        client, fake_stripe.event("charge.refunded", fake_stripe.charge(session["payment_intent"]))
    )
    process_all()
    waiting = StripeEvent.objects.get()
    time_machine.move_to(NOW + timedelta(minutes=31), tick=False)

    report = reconcile_pending_payments()

    number = payment.invoice.display_number
    assert report == [
        f"Invoice {number}: online payment of 80.00 USD settled",
        f"Stripe event {waiting.event_id} (charge.refunded): applied",
    ]
    assert figures(payment.invoice)[:3] == (
        InvoiceStatus.PARTIALLY_REFUNDED,
        D("80.00"),
        D("30.00"),
    )


def test_stripe_names_the_payment_a_waiting_refund_is_for(client, fake_stripe, time_machine):
    """The desk closed the checkout here just as the patient paid, and the
    completion's event was lost: no pending payment leads the reconciliation to it.
    The payment intent's metadata, asked of Stripe, does."""
    payment = checkout()
    session = fake_stripe.complete(payment.checkout_session_id)
    close_online_payment(payment=payment, status=PaymentStatus.EXPIRED)
    intent_id = session["payment_intent"]
    for part in (3000, 2000):
        fake_stripe.refund(intent_id, part)
        deliver(client, fake_stripe.event("charge.refunded", fake_stripe.charge(intent_id)))
    process_all()
    first, second = StripeEvent.objects.order_by("pk")
    time_machine.move_to(NOW + timedelta(minutes=16), tick=False)

    report = reconcile_pending_payments()

    assert report == [
        f"Stripe event {first.event_id} (charge.refunded) tried again: applied",
        f"Stripe event {second.event_id} (charge.refunded): applied",  # In turn, asked once.
    ]
    assert len(fake_stripe.sent("GET", f"/v1/payment_intents/{intent_id}")) == 1
    assert refreshed(payment).payment_intent_id == intent_id
    assert figures(payment.invoice)[:3] == (
        InvoiceStatus.PARTIALLY_REFUNDED,
        D("80.00"),
        D("50.00"),
    )


def test_a_waiting_event_stripe_says_is_another_sites_is_ignored(client, fake_stripe, time_machine):
    fake_stripe.payment_intents["pi_staging"] = {
        "id": "pi_staging",
        "object": "payment_intent",
        "amount": 8000,
        "currency": "usd",
        "status": "succeeded",
        "metadata": {"invoice_id": "7", "payment_id": "9"},  # Staging's numbers.
        "latest_charge": "ch_staging",
    }
    deliver(client, fake_stripe.event("charge.refunded", fake_stripe.charge("pi_staging")))
    process_all()
    waiting = StripeEvent.objects.get()
    time_machine.move_to(NOW + timedelta(minutes=16), tick=False)

    report = reconcile_pending_payments()

    assert report == [f"Stripe event {waiting.event_id} (charge.refunded) ignored: not ours"]
    waiting = refreshed(waiting)
    assert (waiting.outcome, waiting.next_attempt_at) == (Outcome.IGNORED, None)
    assert waiting.detail == "Stripe says payment intent pi_staging pays no payment here: not ours."


# --- Needing attention, then given up ---------------------------------------------


def needing_attention(manager) -> str:
    """The manager's admin list of the Stripe events that need attention (logged in
    afresh: the clock moves on by days here)."""
    browser = Client()
    browser.force_login(manager)
    page = browser.get("/admin/payments/stripeevent/?attention=yes")
    assert page.status_code == 200
    return page.content.decode()


def test_an_event_no_payment_knows_is_retried_then_needs_attention_then_is_given_up(
    client, fake_stripe, time_machine, manager
):
    """A refund of a charge whose payment intent neither this clinic nor Stripe
    (with this key) knows: tried again ever less often, shown to managers after six
    tries, and ignored as not ours seven days after it came."""
    charge = {
        "id": "ch_unknown",
        "object": "charge",
        "amount": 8000,
        "amount_refunded": 8000,
        "currency": "usd",
        "payment_intent": "pi_unknown",
        "metadata": {},
    }
    deliver(client, fake_stripe.event("charge.refunded", charge))
    process_all()
    event = StripeEvent.objects.get()
    tries = [(event.outcome, event.received_at)]

    while event.next_attempt_at is not None:
        time_machine.move_to(event.next_attempt_at, tick=False)
        assert reconcile_pending_payments() == [
            f"Stripe event {event.event_id} (charge.refunded) tried again: "
            f"{refreshed(event).outcome}"
        ]
        tries.append((event.outcome, event.processed_at))
        if event.outcome == Outcome.ATTENTION and len(tries) == 6:
            assert event.event_id in needing_attention(manager)

    waits = [when - NOW for _, when in tries]
    assert [outcome for outcome, _ in tries] == (
        [Outcome.WAITING] * 5 + [Outcome.ATTENTION] * (len(tries) - 6) + [Outcome.IGNORED]
    )
    minutes = [15, 45, 105, 225, 465, 945, 1905]
    assert waits[1:8] == [timedelta(minutes=m) for m in minutes]  # Doubling...
    assert waits[8] - waits[7] == timedelta(days=1)  # ... up to a day.
    assert waits[-2] < timedelta(days=7) <= waits[-1]
    assert event.detail == (
        "Ignored as not ours (another site on this Stripe account?) after 7 days of "
        "waiting: No payment here knows payment intent pi_unknown (charge ch_unknown) yet."
    )
    assert reconcile_pending_payments() == []  # Done with.
    assert event.event_id not in needing_attention(manager)


def test_a_failing_event_is_retried_and_stays_failed_after_the_give_up_days(
    client, fake_stripe, time_machine, manager
):
    deliver(client, fake_stripe.event("checkout.session.completed", {"object": "checkout.session"}))
    assert process_all() == [Outcome.FAILED]
    event = StripeEvent.objects.get()
    assert event.next_attempt_at == NOW + timedelta(minutes=15)

    time_machine.move_to(NOW + timedelta(minutes=15), tick=False)
    assert reconcile_pending_payments() == [
        f"Stripe event {event.event_id} (checkout.session.completed) tried again: failed"
    ]
    time_machine.move_to(NOW + timedelta(days=8), tick=False)
    reconcile_pending_payments()

    event = refreshed(event)
    assert (event.outcome, event.attempts, event.next_attempt_at) == (Outcome.FAILED, 3, None)
    assert reconcile_pending_payments() == []
    assert event.event_id in needing_attention(manager)


# --- Refunds made in Stripe's dashboard ---------------------------------------------


def test_a_refund_whose_event_was_lost_is_found_by_the_reconciliation(
    client, fake_stripe, time_machine
):
    payment = paid(client, fake_stripe)
    refund = fake_stripe.refund(payment.payment_intent_id, 3000)  # Its event never comes.

    assert reconcile_pending_payments() == []  # Its webhook has its turn first.
    time_machine.move_to(NOW + timedelta(minutes=31), tick=False)
    report = reconcile_pending_payments()

    number = payment.invoice.display_number
    assert report == [
        f"Invoice {number}: refund {refund['id']} of the online payment of 80.00 USD "
        "found at Stripe and recorded"
    ]
    [recorded] = Refund.objects.all()
    assert (recorded.provider_refund_id, recorded.amount) == (refund["id"], D("30.00"))
    assert figures(payment.invoice)[:3] == (
        InvoiceStatus.PARTIALLY_REFUNDED,
        D("80.00"),
        D("30.00"),
    )
    looked_up = fake_stripe.sent("GET", "/v1/refunds")
    query = {"payment_intent": payment.payment_intent_id, "limit": "100"}
    assert [request.query for request in looked_up] == [query, query]
    assert reconcile_pending_payments() == []  # Once.
    # The charge says every refund is recorded: its refunds are not asked for again.
    assert len(fake_stripe.sent("GET", "/v1/refunds")) == 2


def test_payments_settled_long_ago_are_not_checked(client, fake_stripe, time_machine, settings):
    payment = paid(client, fake_stripe)
    fake_stripe.refund(payment.payment_intent_id, 3000)
    time_machine.move_to(NOW + timedelta(days=settings.PAYMENTS_RECONCILE_PAID_DAYS, seconds=1))

    assert reconcile_pending_payments() == []

    assert fake_stripe.sent("GET", "/v1/charges") == []


def test_a_stripe_outage_stops_the_refund_check_until_the_next_round(
    client, fake_stripe, time_machine
):
    first, second = paid(client, fake_stripe), paid(client, fake_stripe)
    for payment in (first, second):
        fake_stripe.refund(payment.payment_intent_id, 8000)
    time_machine.move_to(NOW + timedelta(minutes=31), tick=False)
    fake_stripe.answer_next(fake.OUTAGE)

    [line] = reconcile_pending_payments()

    assert line.startswith("Stripe payments not checked for refunds: Could not look up a ")
    assert len(fake_stripe.sent("GET", "/v1/charges")) == 1  # Not one wait per payment.
    assert len(reconcile_pending_payments()) == 2
    assert refreshed(first.invoice).status == refreshed(second.invoice).status == "refunded"


# --- A refunded total, then the refunds by their ids --------------------------------


def test_a_refund_recorded_from_the_charge_total_is_not_counted_again_by_its_id(
    client, fake_stripe
):
    payment = paid(client, fake_stripe)
    intent_id = payment.payment_intent_id
    refund = fake_stripe.refund(intent_id, 3000)
    total_only = fake_stripe.charge(intent_id, with_refunds=False)
    deliver(client, fake_stripe.event("charge.refunded", total_only))
    assert process_latest() == Outcome.APPLIED
    [stand_in] = Refund.objects.all()
    assert (stand_in.amount, stand_in.is_stand_in) == (D("30.00"), True)

    deliver(client, fake_stripe.event("charge.refunded", fake_stripe.charge(intent_id)))
    process_latest()

    [recorded] = Refund.objects.all()
    assert (recorded.provider_refund_id, recorded.amount) == (refund["id"], D("30.00"))
    assert figures(payment.invoice)[2] == D("30.00")


def test_refunds_named_newest_first_after_a_total_count_each_once(client, fake_stripe):
    """The stand-in holds the first refund; Stripe lists the later one first."""
    payment = paid(client, fake_stripe)
    intent_id = payment.payment_intent_id
    first = fake_stripe.refund(intent_id, 3000)
    deliver(
        client,
        fake_stripe.event("charge.refunded", fake_stripe.charge(intent_id, with_refunds=False)),
    )
    second = fake_stripe.refund(intent_id, 2000)
    charge = fake_stripe.charge(intent_id)
    charge["refunds"]["data"].reverse()
    deliver(client, fake_stripe.event("charge.refunded", charge))

    process_all()

    recorded = {refund.provider_refund_id: refund.amount for refund in Refund.objects.all()}
    assert recorded == {first["id"]: D("30.00"), second["id"]: D("20.00")}
    assert figures(payment.invoice)[:3] == (
        InvoiceStatus.PARTIALLY_REFUNDED,
        D("80.00"),
        D("50.00"),
    )


def test_the_reconciliation_names_the_refunds_recorded_from_a_total(
    client, fake_stripe, time_machine
):
    payment = paid(client, fake_stripe)
    intent_id = payment.payment_intent_id
    refund = fake_stripe.refund(intent_id, 8000)
    deliver(
        client,
        fake_stripe.event("charge.refunded", fake_stripe.charge(intent_id, with_refunds=False)),
    )
    process_all()
    time_machine.move_to(NOW + timedelta(minutes=31), tick=False)

    assert len(reconcile_pending_payments()) == 1

    [recorded] = Refund.objects.all()
    assert (recorded.provider_refund_id, recorded.amount) == (refund["id"], D("80.00"))
    assert figures(payment.invoice)[:3] == (InvoiceStatus.REFUNDED, D("80.00"), D("80.00"))
    assert reconcile_pending_payments() == []


# --- Disputes -------------------------------------------------------------------------


def test_a_dispute_takes_the_money_back_until_the_clinic_wins_it(client, fake_stripe):
    payment = paid(client, fake_stripe)
    dispute = fake_stripe.dispute(payment.payment_intent_id)
    deliver(client, fake_stripe.event("charge.dispute.created", dispute))
    deliver(client, fake_stripe.event("charge.dispute.funds_withdrawn", dispute))

    assert process_all()[-2:] == [Outcome.APPLIED, Outcome.IGNORED]

    [recorded] = Dispute.objects.all()
    assert (recorded.payment, recorded.amount, recorded.status, recorded.reason) == (
        payment,
        D("80.00"),
        DisputeStatus.NEEDS_RESPONSE,
        "fraudulent",
    )
    assert figures(payment.invoice) == (
        InvoiceStatus.DISPUTED,
        D("80.00"),
        0,
        D("80.00"),
        D("80.00"),
    )

    won = fake_stripe.update_dispute(dispute["id"], status="won")
    deliver(client, fake_stripe.event("charge.dispute.closed", won))
    deliver(client, fake_stripe.event("charge.dispute.funds_reinstated", won))
    process_all()

    assert refreshed(recorded).status == DisputeStatus.WON
    assert figures(payment.invoice) == (InvoiceStatus.PAID, D("80.00"), 0, 0, 0)


def test_a_lost_disputes_events_in_any_order_end_the_same(fake_stripe):
    """Opened, reviewed and lost, reported before or after the payment itself."""
    payment = checkout()
    session = fake_stripe.complete(payment.checkout_session_id)
    dispute = fake_stripe.dispute(session["payment_intent"], reason="product_not_received")
    reviewed = fake_stripe.update_dispute(dispute["id"], status="under_review")
    lost = fake_stripe.update_dispute(dispute["id"], status="lost")
    events = [
        twice(fake_stripe.event("checkout.session.completed", session)),
        twice(fake_stripe.event("charge.dispute.created", dispute)),
        twice(fake_stripe.event("charge.dispute.updated", reviewed)),
        twice(fake_stripe.event("charge.dispute.closed", lost)),
    ]

    ends = in_every_order(events, payment.invoice)

    assert len(ends) == 24
    assert set(ends.values()) == {(InvoiceStatus.DISPUTED, D("80.00"), 0, D("80.00"), D("80.00"))}


def test_a_dispute_whose_events_were_lost_is_found_by_the_reconciliation(
    client, fake_stripe, time_machine
):
    payment = paid(client, fake_stripe)
    dispute = fake_stripe.dispute(payment.payment_intent_id)
    time_machine.move_to(NOW + timedelta(minutes=31), tick=False)

    number = payment.invoice.display_number
    assert reconcile_pending_payments() == [
        f"Invoice {number}: dispute {dispute['id']} (needs_response) of the online payment "
        "of 80.00 USD found at Stripe and recorded"
    ]
    assert figures(payment.invoice)[0] == InvoiceStatus.DISPUTED

    fake_stripe.update_dispute(dispute["id"], status="lost")
    assert len(reconcile_pending_payments()) == 1
    assert reconcile_pending_payments() == []

    assert Dispute.objects.get().status == DisputeStatus.LOST
    # A lost dispute is final: Stripe is not asked about it again.
    assert len(fake_stripe.sent("GET", "/v1/disputes")) == 2
    assert figures(payment.invoice) == (
        InvoiceStatus.DISPUTED,
        D("80.00"),
        0,
        D("80.00"),
        D("80.00"),
    )


# --- A shuffled replay of many checkouts --------------------------------------------


def test_a_shuffled_duplicated_replay_leaves_every_invoice_with_what_stripe_holds(
    client, fake_stripe, doctor
):
    """12 checkouts paid by card or bank debit, refunded in part or in full in
    Stripe's dashboard (charges without metadata, listing their refunds or only
    their total), disputed, or never paid. Every event is delivered twice and some
    resent with a new id, in a random order in which each refund and dispute comes
    before the payment it is about; then the worker goes through them."""
    events, payments = [], []
    for number in range(12):
        invoice = InvoiceFactory(session__doctor=doctor, lines=[D(f"{40 + number}.50")])
        payment = checkout(invoice)
        payments.append(payment)
        events += stripe_story(fake_stripe, payment, kind=number % 6)
    shuffled = random.Random(14).sample(events, len(events))
    # Refunds and disputes first: they must wait for their payments.
    shuffled.sort(key=lambda event: not event["type"].startswith("charge."))

    for event in shuffled:
        assert deliver(client, event).status_code == 200
        assert deliver(client, event).status_code == 200
    process_all()

    assert not StripeEvent.objects.exclude(outcome__in=[Outcome.APPLIED, Outcome.IGNORED]).exists()
    for payment in payments:
        assert figures(payment.invoice)[1:4] == held_by_stripe(fake_stripe, payment)


def stripe_story(fake_stripe, payment: Payment, *, kind: int) -> list[dict]:
    """The events Stripe sends about one checkout, by kind of story."""
    session_id = payment.checkout_session_id
    if kind == 5:  # Never paid.
        return [fake_stripe.event("checkout.session.expired", fake_stripe.expire(session_id))]
    if kind == 4:  # A bank debit, paid later.
        unpaid = fake_stripe.complete(session_id, paid=False)
        story = [fake_stripe.event("checkout.session.completed", unpaid)]
        session = fake_stripe.pay_later(session_id)
        story.append(fake_stripe.event("checkout.session.async_payment_succeeded", session))
    else:
        session = fake_stripe.complete(session_id)
        story = [fake_stripe.event("checkout.session.completed", session)]
        story.append(again(story[0]))
    intent_id, amount = session["payment_intent"], session["amount_total"]
    if kind in (0, 4):  # Partly refunded.
        fake_stripe.refund(intent_id, 1000)
        story.append(fake_stripe.event("charge.refunded", fake_stripe.charge(intent_id)))
    if kind == 1:  # Refunded in two parts, reported as totals.
        for part in (1000, amount - 1000):
            fake_stripe.refund(intent_id, part)
            charge = fake_stripe.charge(intent_id, with_refunds=False)
            story.append(fake_stripe.event("charge.refunded", charge))
    if kind == 2:  # Disputed, and lost.
        dispute = fake_stripe.dispute(intent_id)
        story.append(fake_stripe.event("charge.dispute.created", dispute))
        lost = fake_stripe.update_dispute(dispute["id"], status="lost")
        story.append(fake_stripe.event("charge.dispute.closed", lost))
    return story


def held_by_stripe(fake_stripe, payment: Payment) -> tuple:
    """What Stripe took for the payment's checkout, gave back, and took back in
    disputes, in the invoice's currency."""
    session = fake_stripe.session(payment.checkout_session_id)
    intent = fake_stripe.payment_intents.get(session["payment_intent"] or "")
    if intent is None or intent["status"] != "succeeded":
        return (0, 0, 0)
    refunded = sum(
        refund["amount"]
        for refund in fake_stripe.refunds.values()
        if refund["payment_intent"] == intent["id"]
    )
    disputed = sum(
        dispute["amount"]
        for dispute in fake_stripe.disputes.values()
        if dispute["payment_intent"] == intent["id"] and dispute["status"] in DISPUTE_TAKES_MONEY
    )
    return tuple(from_minor_units(minor, "USD") for minor in (intent["amount"], refunded, disputed))
