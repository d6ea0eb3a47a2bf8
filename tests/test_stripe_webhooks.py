"""Stripe's webhook (DESIGN.md section 5): events signed exactly as Stripe signs them
are stored once and applied by the worker; duplicates, replays and events out of
order never credit an invoice twice nor take a payment back.

The clock stands at Monday 2 March 2026, 17:00 UTC; Stripe signs with that time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ, Task
from django_q.tasks import async_task

from payments.models import InvoiceStatus, Payment, PaymentStatus, Refund, StripeEvent
from payments.reconciliation import reconcile_pending_payments
from payments.services import refund_payment, start_online_payment
from payments.tasks import process_stripe_event
from tests.factories import InvoiceFactory
from tests.fakes.stripe import WEBHOOK_SECRET

NOW = datetime(2026, 3, 2, 17, tzinfo=UTC)
URL = "/webhooks/stripe/"

Outcome = StripeEvent.Outcome

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def afternoon(time_machine) -> None:
    time_machine.move_to(NOW, tick=False)


def stripe_signature(payload: str, *, secret: str = WEBHOOK_SECRET, signed_at: int = 0) -> str:
    """The Stripe-Signature header: HMAC-SHA256 of "<timestamp>.<body>"."""
    timestamp = signed_at or int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def post_raw(client, payload: str, signature: str = ""):
    headers = {"Stripe-Signature": signature} if signature else {}
    return client.post(URL, payload, content_type="application/json", headers=headers)


def deliver(client, event: dict, **signing):
    payload = json.dumps(event)
    return post_raw(client, payload, signature=stripe_signature(payload, **signing))


def process_all() -> list[str]:
    """The worker runs the task of every stored event, in the order they came."""
    return [
        process_stripe_event(pk)
        for pk in StripeEvent.objects.order_by("pk").values_list("pk", flat=True)
    ]


def checkout(invoice=None) -> Payment:
    return start_online_payment(
        invoice=invoice or InvoiceFactory(), by=None, base_url="https://clinic.example.test"
    )


def refreshed(row):
    row.refresh_from_db()
    return row


def assert_credited_once(payment: Payment) -> None:
    payment = refreshed(payment)
    invoice = refreshed(payment.invoice)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, invoice.total)


# --- Signed events are stored once and applied by the worker --------------------------


def test_a_paid_checkout_is_stored_then_settled_by_the_task(client, fake_stripe):
    payment = checkout()
    session = fake_stripe.complete(payment.checkout_session_id)
    event = fake_stripe.event("checkout.session.completed", session)

    response = deliver(client, event)

    assert response.status_code == 200
    [stored] = StripeEvent.objects.all()
    assert (stored.event_id, stored.type) == (event["id"], "checkout.session.completed")
    assert stored.payload == json.dumps(event)
    assert (stored.outcome, stored.processed_at) == (Outcome.PENDING, None)
    # The answer does not wait for the work.
    assert refreshed(payment).status == PaymentStatus.PENDING

    assert process_stripe_event(stored.pk) == Outcome.APPLIED

    assert_credited_once(payment)
    assert refreshed(payment).payment_intent_id == session["payment_intent"]
    stored = refreshed(stored)
    assert (stored.outcome, stored.processed_at) == (Outcome.APPLIED, NOW)
    assert stored.detail == f"Payment {payment.pk} settled."


def test_the_webhook_hands_the_event_to_the_worker_once_committed(
    client, fake_stripe, django_capture_on_commit_callbacks
):
    payment = checkout()
    session = fake_stripe.complete(payment.checkout_session_id)

    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, fake_stripe.event("checkout.session.completed", session))

    [stored] = StripeEvent.objects.all()
    [queued] = OrmQ.objects.all()
    assert queued.task["func"] == "payments.tasks.process_stripe_event"
    assert queued.task["args"] == (stored.pk,)
    assert refreshed(payment).status == PaymentStatus.PENDING


def test_the_worker_runs_the_task_and_keeps_its_outcome(client, fake_stripe):
    payment = checkout()
    session = fake_stripe.complete(payment.checkout_session_id)
    deliver(client, fake_stripe.event("checkout.session.completed", session))
    [stored] = StripeEvent.objects.all()

    task_id = async_task("payments.tasks.process_stripe_event", stored.pk, sync=True)

    task = Task.objects.get(id=task_id)
    assert (task.success, task.result) == (True, Outcome.APPLIED)
    assert_credited_once(payment)


def test_a_broken_queue_still_answers_stripe(
    client, fake_stripe, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    monkeypatch.setattr(Conf, "ORM", "no-such-database")  # The queue's database is gone.
    payment = checkout()
    session = fake_stripe.complete(payment.checkout_session_id)

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, fake_stripe.event("checkout.session.completed", session))

    assert response.status_code == 200
    assert StripeEvent.objects.count() == 1
    assert "Could not queue stripe event" in caplog.text


# --- Requests Stripe did not sign ----------------------------------------------------


def forge(client, settings, forgery: str, event: dict):
    payload = json.dumps(event)
    if forgery == "forged signature":
        return post_raw(client, payload, signature=f"t={int(time.time())},v1={'0' * 64}")
    if forgery == "wrong secret":
        return deliver(client, event, secret="whsec_another_endpoint")
    if forgery == "unsigned":
        return post_raw(client, payload)
    if forgery == "stale":
        return deliver(client, event, signed_at=int(time.time()) - 301)
    if forgery == "signed in the future":
        # The stripe library checks only the past: a signature made ahead of time
        # would otherwise stay valid until then.
        return deliver(client, event, signed_at=int(time.time()) + 301)
    if forgery == "body changed after signing":
        signature = stripe_signature(payload)
        return post_raw(client, payload.replace("8000", "1"), signature=signature)
    if forgery == "malformed json":
        body = payload[:-1]
        return post_raw(client, body, signature=stripe_signature(body))
    if forgery == "not an object":
        body = json.dumps([event])
        return post_raw(client, body, signature=stripe_signature(body))
    if forgery == "no event id":
        return deliver(client, {**event, "id": ""})
    settings.STRIPE_WEBHOOK_SECRET = ""  # Nothing to check a signature with.
    return deliver(client, event, secret="")


@pytest.mark.parametrize(
    "forgery",
    [
        "forged signature",
        "wrong secret",
        "unsigned",
        "stale",
        "signed in the future",
        "body changed after signing",
        "malformed json",
        "not an object",
        "no event id",
        "no secret configured",
    ],
)
def test_a_request_stripe_did_not_sign_changes_nothing(
    client, fake_stripe, settings, django_capture_on_commit_callbacks, forgery
):
    payment = checkout()
    session = fake_stripe.complete(payment.checkout_session_id)
    event = fake_stripe.event("checkout.session.completed", session)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = forge(client, settings, forgery, event)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    assert callbacks == []
    assert refreshed(payment).status == PaymentStatus.PENDING


@pytest.mark.parametrize("seconds", [-299, 299])
def test_a_signature_within_the_tolerance_is_accepted(client, fake_stripe, seconds):
    """Either way: the clocks of Stripe and of this server may differ a little."""
    event = fake_stripe.event("customer.created", {"id": "cus_1", "object": "customer"})

    response = deliver(client, event, signed_at=int(time.time()) + seconds)

    assert response.status_code == 200
    assert StripeEvent.objects.count() == 1


def test_the_webhook_takes_only_posts(client, fake_stripe):
    assert client.get(URL).status_code == 405


# --- Duplicates and events out of order -------------------------------------------


def test_a_duplicate_delivery_is_stored_once_and_credited_once(
    client, fake_stripe, django_capture_on_commit_callbacks
):
    payment = checkout()
    session = fake_stripe.complete(payment.checkout_session_id)
    event = fake_stripe.event("checkout.session.completed", session)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = deliver(client, event)
        again = deliver(client, event)

    assert (first.status_code, again.status_code) == (200, 200)
    assert StripeEvent.objects.count() == 1
    # The worker hears of it once (queued with the stored event, or after its commit).
    assert len(callbacks) + get_broker().queue_size() == 1
    process_all()
    assert_credited_once(payment)


def test_processing_an_event_again_does_nothing_more(client, fake_stripe):
    payment = checkout()
    session = fake_stripe.complete(payment.checkout_session_id)
    deliver(client, fake_stripe.event("checkout.session.completed", session))
    [stored] = StripeEvent.objects.all()
    process_stripe_event(stored.pk)
    processed_at = refreshed(stored).processed_at

    assert process_stripe_event(stored.pk) == Outcome.APPLIED

    assert refreshed(stored).processed_at == processed_at
    assert_credited_once(payment)


def test_an_expiry_before_the_payment_does_not_lose_the_money(client, fake_stripe):
    payment = checkout()
    session = fake_stripe.complete(payment.checkout_session_id)
    expired = {**session, "status": "expired", "payment_status": "unpaid"}
    deliver(client, fake_stripe.event("checkout.session.expired", expired))
    deliver(client, fake_stripe.event("checkout.session.completed", session))

    assert process_all() == [Outcome.APPLIED, Outcome.APPLIED]

    assert_credited_once(payment)
    # A late replay of the expiry never takes the payment back.
    deliver(client, fake_stripe.event("checkout.session.expired", expired))
    assert process_all()[-1] == Outcome.IGNORED
    assert_credited_once(payment)


def test_a_payment_reported_twice_is_credited_once(client, fake_stripe):
    payment = checkout()
    session = fake_stripe.complete(payment.checkout_session_id)
    deliver(client, fake_stripe.event("checkout.session.completed", session))
    deliver(client, fake_stripe.event("checkout.session.completed", session))

    assert process_all() == [Outcome.APPLIED, Outcome.IGNORED]

    assert_credited_once(payment)
    assert refreshed(payment).settled_at == NOW


def test_a_delayed_payment_is_settled_when_it_goes_through(client, fake_stripe):
    payment = checkout()
    unpaid = fake_stripe.complete(payment.checkout_session_id, paid=False)
    deliver(client, fake_stripe.event("checkout.session.completed", unpaid))

    process_all()

    payment = refreshed(payment)
    assert (payment.status, payment.payment_intent_id) == (
        PaymentStatus.PENDING,
        unpaid["payment_intent"],
    )
    assert refreshed(payment.invoice).status == InvoiceStatus.OPEN

    paid = fake_stripe.pay_later(payment.checkout_session_id)
    deliver(client, fake_stripe.event("checkout.session.async_payment_succeeded", paid))
    process_all()
    assert_credited_once(payment)


def test_a_late_success_after_the_payment_is_settled_credits_nothing_more(client, fake_stripe):
    payment = checkout()
    session = fake_stripe.complete(payment.checkout_session_id)
    deliver(client, fake_stripe.event("checkout.session.completed", session))
    deliver(client, fake_stripe.event("checkout.session.async_payment_succeeded", session))
    deliver(
        client,
        fake_stripe.event("checkout.session.completed", {**session, "payment_status": "unpaid"}),
    )

    assert process_all() == [Outcome.APPLIED, Outcome.IGNORED, Outcome.IGNORED]

    assert_credited_once(payment)


def test_a_failed_delayed_payment_closes_the_payment(client, fake_stripe):
    payment = checkout()
    unpaid = fake_stripe.complete(payment.checkout_session_id, paid=False)
    deliver(client, fake_stripe.event("checkout.session.completed", unpaid))
    deliver(client, fake_stripe.event("checkout.session.async_payment_failed", unpaid))

    process_all()

    payment = refreshed(payment)
    assert (payment.status, payment.last_error) == (
        PaymentStatus.FAILED,
        "The delayed payment failed.",
    )
    invoice = refreshed(payment.invoice)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.OPEN, 0)


def test_an_expired_checkout_closes_the_payment(client, fake_stripe):
    payment = checkout()
    expired = fake_stripe.expire(payment.checkout_session_id)
    deliver(client, fake_stripe.event("checkout.session.expired", expired))

    assert process_all() == [Outcome.APPLIED]

    assert refreshed(payment).status == PaymentStatus.EXPIRED
    assert refreshed(payment.invoice).balance == Decimal("80.00")


def test_a_declined_card_is_noted_and_the_checkout_stays_open(client, fake_stripe):
    payment = checkout()
    intent = declined_intent(payment)
    deliver(client, fake_stripe.event("payment_intent.payment_failed", intent))

    assert process_all() == [Outcome.APPLIED]

    payment = refreshed(payment)
    assert (payment.status, payment.last_error) == (
        PaymentStatus.PENDING,
        "Your card was declined.",
    )


def declined_intent(payment: Payment, **changes) -> dict:
    """The payment intent Checkout made for a card that was then declined: it
    names our payment only in its metadata."""
    return {
        "id": "pi_declined",
        "object": "payment_intent",
        "amount": 8000,
        "currency": "usd",
        "status": "requires_payment_method",
        "metadata": {"invoice_id": str(payment.invoice_id), "payment_id": str(payment.pk)},
        "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
        **changes,
    }


# --- Refunds ------------------------------------------------------------------------


def paid(client, fake_stripe) -> Payment:
    payment = checkout()
    session = fake_stripe.complete(payment.checkout_session_id)
    deliver(client, fake_stripe.event("checkout.session.completed", session))
    process_all()
    return refreshed(payment)


def test_a_refund_made_in_stripe_is_recorded_once(client, fake_stripe):
    payment = paid(client, fake_stripe)
    refund = fake_stripe.refund(payment.payment_intent_id, 3000)
    event = fake_stripe.event("charge.refunded", fake_stripe.charge(payment.payment_intent_id))
    deliver(client, event)
    deliver(client, {**event, "id": "evt_resent_by_hand"})

    assert process_all()[-2:] == [Outcome.APPLIED, Outcome.IGNORED]

    [recorded] = Refund.objects.all()
    assert (recorded.payment, recorded.provider_refund_id, recorded.amount) == (
        payment,
        refund["id"],
        Decimal("30.00"),
    )
    invoice = refreshed(payment.invoice)
    assert (invoice.status, invoice.amount_refunded) == (
        InvoiceStatus.PARTIALLY_REFUNDED,
        Decimal("30.00"),
    )

    fake_stripe.refund(payment.payment_intent_id, 5000)
    deliver(
        client, fake_stripe.event("charge.refunded", fake_stripe.charge(payment.payment_intent_id))
    )
    process_all()
    assert Refund.objects.count() == 2
    invoice = refreshed(payment.invoice)
    assert (invoice.status, invoice.amount_refunded) == (InvoiceStatus.REFUNDED, Decimal("80.00"))


def test_an_event_the_queue_never_took_is_processed_by_the_reconciliation(
    client, fake_stripe, time_machine
):
    # A refund made in Stripe's dashboard: no pending payment would lead the
    # reconciliation to it, only its event. The test runs no commit hooks, so the
    # event is stored and answered but never handed to the worker.
    payment = paid(client, fake_stripe)
    fake_stripe.refund(payment.payment_intent_id, 3000)
    deliver(
        client, fake_stripe.event("charge.refunded", fake_stripe.charge(payment.payment_intent_id))
    )
    stalled = StripeEvent.objects.latest("pk")

    assert reconcile_pending_payments() == []  # Just arrived: the worker's turn.
    time_machine.move_to(NOW + timedelta(minutes=31), tick=False)
    report = reconcile_pending_payments()

    assert report == [f"Stripe event {stalled.event_id} (charge.refunded) processed late: applied"]
    assert refreshed(stalled).outcome == Outcome.APPLIED
    assert Refund.objects.get().amount == Decimal("30.00")
    assert reconcile_pending_payments() == []  # Once.


def test_a_refund_made_here_is_not_recorded_again_from_its_event(client, fake_stripe):
    payment = paid(client, fake_stripe)
    refund = refund_payment(payment=payment, amount=Decimal("80.00"), reason="Cancelled", by=None)
    deliver(
        client, fake_stripe.event("charge.refunded", fake_stripe.charge(payment.payment_intent_id))
    )

    assert process_all()[-1] == Outcome.IGNORED

    assert list(Refund.objects.all()) == [refund]
    assert refreshed(payment.invoice).status == InvoiceStatus.REFUNDED


def test_a_charge_without_its_refunds_list_records_what_is_missing_once(client, fake_stripe):
    payment = paid(client, fake_stripe)
    intent_id = payment.payment_intent_id
    fake_stripe.refund(intent_id, 2000)
    first = fake_stripe.event("charge.refunded", fake_stripe.charge(intent_id, with_refunds=False))
    fake_stripe.refund(intent_id, 3000)
    second = fake_stripe.event("charge.refunded", fake_stripe.charge(intent_id, with_refunds=False))
    # The later total arrives first, then the earlier one, then the later one again.
    for event in (second, first, {**second, "id": "evt_again"}):
        deliver(client, event)

    assert process_all()[-3:] == [Outcome.APPLIED, Outcome.IGNORED, Outcome.IGNORED]

    [recorded] = Refund.objects.all()
    assert recorded.amount == Decimal("50.00")
    invoice = refreshed(payment.invoice)
    assert (invoice.status, invoice.amount_refunded) == (
        InvoiceStatus.PARTIALLY_REFUNDED,
        Decimal("50.00"),
    )


# --- What is not ours ---------------------------------------------------------------


def test_an_event_of_no_interest_is_ignored(client, fake_stripe):
    deliver(client, fake_stripe.event("customer.created", {"id": "cus_1", "object": "customer"}))

    assert process_all() == [Outcome.IGNORED]

    stored = StripeEvent.objects.get()
    assert (stored.processed_at, stored.detail) == (NOW, "Nothing to do for customer.created.")


def test_a_checkout_made_elsewhere_is_ignored(client, fake_stripe):
    """Another site on the same Stripe account (a staging copy) gets the same events."""
    payment = checkout()
    session = fake_stripe.complete(payment.checkout_session_id)
    elsewhere = {**session, "id": "cs_test_from_staging", "amount_total": 12000}
    deliver(client, fake_stripe.event("checkout.session.completed", elsewhere))

    assert process_all() == [Outcome.IGNORED]

    assert StripeEvent.objects.get().detail == "No payment here for checkout cs_test_from_staging."
    assert refreshed(payment).status == PaymentStatus.PENDING


def test_a_payment_intent_naming_another_sites_payment_is_ignored(client, fake_stripe):
    payment = checkout()
    deliver(
        client,
        fake_stripe.event("payment_intent.payment_failed", declined_intent(payment, amount=4500)),
    )

    assert process_all() == [Outcome.IGNORED]

    assert refreshed(payment).last_error == ""


def test_a_broken_event_is_marked_failed_and_the_worker_goes_on(client, fake_stripe, caplog):
    payment = checkout()
    deliver(client, fake_stripe.event("checkout.session.completed", {"object": "checkout.session"}))
    session = fake_stripe.complete(payment.checkout_session_id)
    deliver(client, fake_stripe.event("checkout.session.completed", session))

    with caplog.at_level(logging.ERROR, logger="payments.events"):
        assert process_all() == [Outcome.FAILED, Outcome.APPLIED]

    broken = StripeEvent.objects.order_by("pk").first()
    assert (broken.outcome, broken.processed_at, broken.detail) == (
        Outcome.FAILED,
        NOW,
        "KeyError: 'id'",
    )
    assert "Could not process Stripe event" in caplog.text
    assert_credited_once(payment)


# --- A shuffled replay --------------------------------------------------------------


@pytest.mark.parametrize("seed", [7, 2026])
def test_a_shuffled_replay_credits_every_paid_invoice_exactly_once(
    client, fake_stripe, doctor, seed
):
    """30 invoices: paid by card (with duplicates and a stray expiry), paid later by
    bank debit, expired unpaid, or failed; every event delivered in a random order,
    some twice, and the worker runs everything twice."""
    events, paid_payments, unpaid_payments = [], [], []
    for number in range(30):
        invoice = InvoiceFactory(session__doctor=doctor, lines=[Decimal(f"{40 + number}.50")])
        payment = checkout(invoice)
        session_id = payment.checkout_session_id
        kind = number % 4
        if kind == 0:  # Card.
            session = fake_stripe.complete(session_id)
            completed = fake_stripe.event("checkout.session.completed", session)
            events += [
                completed,
                completed,
                fake_stripe.event("checkout.session.completed", session),
            ]
            events.append(
                fake_stripe.event("checkout.session.expired", {**session, "status": "expired"})
            )
            paid_payments.append(payment)
        elif kind == 1:  # Bank debit, paid later.
            unpaid = fake_stripe.complete(session_id, paid=False)
            later = fake_stripe.pay_later(session_id)
            events += [
                fake_stripe.event("checkout.session.completed", unpaid),
                fake_stripe.event("checkout.session.async_payment_succeeded", later),
                fake_stripe.event("checkout.session.async_payment_succeeded", later),
            ]
            paid_payments.append(payment)
        elif kind == 2:  # Never paid.
            expired = fake_stripe.expire(session_id)
            event = fake_stripe.event("checkout.session.expired", expired)
            events += [event, event]
            unpaid_payments.append(payment)
        else:  # Bank debit that failed.
            unpaid = fake_stripe.complete(session_id, paid=False)
            events += [
                fake_stripe.event("checkout.session.completed", unpaid),
                fake_stripe.event("checkout.session.async_payment_failed", unpaid),
            ]
            unpaid_payments.append(payment)
    random.Random(seed).shuffle(events)

    for event in events:
        assert deliver(client, event).status_code == 200
    process_all()
    process_all()

    assert StripeEvent.objects.count() == len({event["id"] for event in events})
    assert not StripeEvent.objects.filter(outcome__in=[Outcome.PENDING, Outcome.FAILED]).exists()
    for payment in paid_payments:
        assert_credited_once(payment)
    for payment in unpaid_payments:
        payment = refreshed(payment)
        assert payment.status in (PaymentStatus.EXPIRED, PaymentStatus.FAILED)
        assert refreshed(payment.invoice).amount_paid == 0
