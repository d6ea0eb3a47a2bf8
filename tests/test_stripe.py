"""Online payment through Stripe (DESIGN.md section 5): checkouts, refunds, closing
an open checkout when the desk takes the money, and the reconciliation that settles
a payment whose webhook never came. The real `stripe` library talks to a local fake
of Stripe's API.

The clock stands at Monday 2 March 2026, 17:00 UTC, after the day's sessions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_q.models import Schedule, Task
from django_q.tasks import async_task

from payments.exceptions import PaymentError, ProviderUnavailable
from payments.models import Invoice, InvoiceStatus, Payment, PaymentStatus, Refund
from payments.reconciliation import reconcile_pending_payments
from payments.services import (
    pay_link_token,
    record_desk_payment,
    refund_payment,
    settle_online_payment,
    start_online_payment,
)
from tests.factories import InvoiceFactory
from tests.fakes import stripe as fake
from tests.fakes.stripe import decode_form

NOW = datetime(2026, 3, 2, 17, tzinfo=UTC)
SITE = "https://clinic.example.test"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def afternoon(time_machine) -> None:
    time_machine.move_to(NOW, tick=False)


def pay_online(invoice: Invoice, by=None) -> Payment:
    return start_online_payment(invoice=invoice, by=by, base_url=SITE)


def refreshed(row):
    row.refresh_from_db()
    return row


def paid_online(fake_stripe, invoice: Invoice | None = None) -> Payment:
    """An invoice paid in full through a Stripe checkout."""
    payment = pay_online(invoice or InvoiceFactory())
    session = fake_stripe.complete(payment.checkout_session_id)
    settle_online_payment(payment=payment, payment_intent_id=session["payment_intent"])
    return refreshed(payment)


def desk_payment(invoice: Invoice, amount: str, key: str = "desk-1") -> Payment:
    return record_desk_payment(
        invoice=invoice, method="cash", amount=Decimal(amount), idempotency_key=key, by=None
    )


# --- Checkouts ------------------------------------------------------------------------


def test_a_checkout_asks_stripe_for_the_balance_in_cents(fake_stripe, receptionist):
    invoice = InvoiceFactory()

    payment = pay_online(invoice, by=receptionist)

    [request] = fake_stripe.checkout_creates
    form = decode_form(request.body)
    assert form["mode"] == "payment"
    [item] = form["line_items"]
    assert item["quantity"] == "1"
    assert item["price_data"]["unit_amount"] == "8000"
    assert item["price_data"]["currency"] == "usd"
    metadata = {"invoice_id": str(invoice.pk), "payment_id": str(payment.pk)}
    assert form["metadata"] == metadata
    assert form["payment_intent_data"]["metadata"] == metadata
    assert form["client_reference_id"] == str(payment.pk)
    assert form["success_url"] == (
        f"{SITE}/payments/checkout/done/?session_id={{CHECKOUT_SESSION_ID}}"
    )
    assert form["cancel_url"] == SITE + reverse("payments:pay", args=[pay_link_token(invoice)])
    assert request.headers["idempotency-key"] == payment.idempotency_key
    assert request.headers["authorization"] == f"Bearer {fake.SECRET_KEY}"

    payment = refreshed(payment)
    session = fake_stripe.session(payment.checkout_session_id)
    assert payment.checkout_session_id.startswith("cs_test_")
    assert payment.checkout_url == session["url"]
    assert payment.checkout_url.startswith(f"{fake.CHECKOUT_HOST}/c/pay/cs_test_")
    assert (payment.method, payment.status, payment.amount) == (
        "stripe",
        PaymentStatus.PENDING,
        Decimal("80.00"),
    )
    assert payment.created_by == receptionist
    assert refreshed(invoice).amount_paid == 0  # Nothing is in until Stripe says so.


def test_a_partly_paid_invoice_is_offered_online_for_what_is_left(fake_stripe):
    invoice = InvoiceFactory(lines=[Decimal("120.50"), Decimal("15.00")])
    desk_payment(invoice, "35.00")

    payment = pay_online(invoice)

    assert payment.amount == Decimal("100.50")
    [request] = fake_stripe.checkout_creates
    assert decode_form(request.body)["line_items"][0]["price_data"]["unit_amount"] == "10050"


def test_a_second_start_reuses_the_open_checkout(fake_stripe):
    invoice = InvoiceFactory()
    first = pay_online(invoice)

    second = pay_online(invoice)

    assert second.pk == first.pk
    assert second.checkout_url == refreshed(first).checkout_url
    assert len(fake_stripe.checkout_creates) == 1
    assert Payment.objects.count() == 1


def test_a_stripe_outage_is_a_clear_error_and_credits_nothing(fake_stripe):
    invoice = InvoiceFactory()
    fake_stripe.answer_next(fake.OUTAGE)

    with pytest.raises(ProviderUnavailable) as refused:
        pay_online(invoice)

    assert "Stripe" in refused.value.message
    assert "Something went wrong on Stripe's end" in refused.value.message
    assert not Payment.objects.exclude(checkout_url="").exists()
    assert refreshed(invoice).status == InvoiceStatus.OPEN


def test_without_stripe_keys_nothing_goes_online(fake_stripe, settings):
    settings.STRIPE_SECRET_KEY = ""

    with pytest.raises(PaymentError, match="not set up"):
        pay_online(InvoiceFactory())

    assert not Payment.objects.exists()
    assert fake_stripe.requests == []


# --- Refunds ------------------------------------------------------------------------


def test_a_refund_retried_with_its_token_is_one_refund_at_stripe(fake_stripe, manager):
    payment = paid_online(fake_stripe)
    refund = dict(payment=payment, amount=Decimal("30.00"), reason="Overcharged", by=manager)

    first = refund_payment(**refund, idempotency_key="desk-5f0c2c7e-9b61-4b55-8f4e-1d2a3b4c5d6e")
    again = refund_payment(**refund, idempotency_key="desk-5f0c2c7e-9b61-4b55-8f4e-1d2a3b4c5d6e")

    assert again == first
    [request] = fake_stripe.refund_creates
    assert request.headers["idempotency-key"] == "refund-desk-5f0c2c7e-9b61-4b55-8f4e-1d2a3b4c5d6e"
    assert refreshed(payment.invoice).amount_refunded == Decimal("30.00")


def test_refunding_an_online_payment_refunds_it_at_stripe(fake_stripe, manager):
    payment = paid_online(fake_stripe)

    refund = refund_payment(
        payment=payment, amount=Decimal("30.00"), reason="Overcharged", by=manager
    )

    [request] = fake_stripe.refund_creates
    assert request.form["payment_intent"] == payment.payment_intent_id
    assert request.form["amount"] == "3000"
    assert request.form["metadata[payment_id]"] == str(payment.pk)
    assert request.headers["idempotency-key"].startswith("refund-")
    [at_stripe] = fake_stripe.refunds.values()
    assert refund.provider_refund_id == at_stripe["id"]
    assert refund.provider_refund_id.startswith("re_")
    assert (refund.amount, refund.created_by) == (Decimal("30.00"), manager)
    invoice = refreshed(payment.invoice)
    assert (invoice.status, invoice.amount_refunded) == (
        InvoiceStatus.PARTIALLY_REFUNDED,
        Decimal("30.00"),
    )


def test_each_refund_carries_its_own_idempotency_key(fake_stripe):
    payment = paid_online(fake_stripe)

    refund_payment(payment=payment, amount=Decimal("30.00"), reason="Overcharged", by=None)
    refund_payment(payment=payment, amount=Decimal("50.00"), reason="Cancelled", by=None)

    keys = [request.headers["idempotency-key"] for request in fake_stripe.refund_creates]
    assert len(set(keys)) == 2
    assert len(fake_stripe.refunds) == 2
    assert refreshed(payment.invoice).status == InvoiceStatus.REFUNDED


def test_a_refund_stripe_refuses_records_nothing(fake_stripe):
    payment = paid_online(fake_stripe)
    fake_stripe.answer_next(
        fake.error(400, "invalid_request_error", "Charge has been disputed.", "charge_disputed")
    )

    with pytest.raises(ProviderUnavailable, match="Charge has been disputed"):
        refund_payment(payment=payment, amount=Decimal("30.00"), reason="Overcharged", by=None)

    assert not Refund.objects.exists()
    invoice = refreshed(payment.invoice)
    assert (invoice.status, invoice.amount_refunded) == (InvoiceStatus.PAID, 0)


def test_a_desk_refund_never_calls_stripe(fake_stripe):
    invoice = InvoiceFactory()
    payment = desk_payment(invoice, "80.00")

    refund = refund_payment(payment=payment, amount=Decimal("80.00"), reason="Cancelled", by=None)

    assert refund.provider_refund_id == ""
    assert fake_stripe.refund_creates == []


# --- The desk takes the money ---------------------------------------------------------


def test_a_desk_payment_expires_the_open_checkout_at_stripe(fake_stripe):
    invoice = InvoiceFactory()
    online = pay_online(invoice)

    desk_payment(invoice, "80.00")

    assert len(fake_stripe.expire_calls(online.checkout_session_id)) == 1
    assert fake_stripe.session(online.checkout_session_id)["status"] == "expired"
    assert refreshed(online).status == PaymentStatus.EXPIRED
    invoice = refreshed(invoice)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, Decimal("80.00"))


def test_the_desk_cannot_take_money_the_patient_just_paid_online(fake_stripe):
    invoice = InvoiceFactory()
    online = pay_online(invoice)
    fake_stripe.complete(online.checkout_session_id)

    with pytest.raises(PaymentError, match="has just paid this invoice online"):
        desk_payment(invoice, "80.00")

    assert fake_stripe.expire_calls(online.checkout_session_id) == []
    assert not Payment.objects.filter(method="cash").exists()
    assert refreshed(online).status == PaymentStatus.PENDING  # The webhook settles it.


# --- Reconciliation -------------------------------------------------------------------


def reconcile(*args: str) -> list[str]:
    out = StringIO()
    call_command("reconcile_payments", *args, stdout=out)
    return out.getvalue().splitlines()


def test_reconciliation_settles_a_paid_checkout_whose_webhook_never_came(fake_stripe, time_machine):
    paid = pay_online(InvoiceFactory(number=123))
    expired = pay_online(InvoiceFactory(number=124, lines=[Decimal("45.50")]))
    still_open = pay_online(InvoiceFactory(number=125))
    session = fake_stripe.complete(paid.checkout_session_id)
    fake_stripe.expire(expired.checkout_session_id)
    time_machine.move_to(NOW + timedelta(minutes=31), tick=False)

    lines = reconcile()

    assert lines == [
        "Invoice 000123: online payment of 80.00 USD settled",
        "Invoice 000124: online payment of 45.50 USD expired",
    ]
    paid = refreshed(paid)
    assert (paid.status, paid.payment_intent_id) == (
        PaymentStatus.SUCCEEDED,
        session["payment_intent"],
    )
    invoice = refreshed(paid.invoice)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, invoice.total)
    assert refreshed(expired).status == PaymentStatus.EXPIRED
    assert refreshed(expired.invoice).amount_paid == 0
    assert refreshed(still_open).status == PaymentStatus.PENDING
    assert fake_stripe.expire_calls(still_open.checkout_session_id) == []

    assert reconcile() == ["Nothing to reconcile."]  # Settled once.
    assert refreshed(paid.invoice).amount_paid == Decimal("80.00")


def test_reconciliation_waits_for_the_webhook_first(fake_stripe, time_machine):
    payment = pay_online(InvoiceFactory())
    fake_stripe.complete(payment.checkout_session_id)
    time_machine.move_to(NOW + timedelta(minutes=29), tick=False)

    assert reconcile() == ["Nothing to reconcile."]

    assert fake_stripe.sent("GET", f"/v1/checkout/sessions/{payment.checkout_session_id}") == []
    assert refreshed(payment).status == PaymentStatus.PENDING
    assert reconcile("--older-than", "0") == [
        f"Invoice {payment.invoice.display_number}: online payment of 80.00 USD settled"
    ]


def test_reconciliation_leaves_a_delayed_payment_pending(fake_stripe, time_machine):
    payment = pay_online(InvoiceFactory())
    fake_stripe.complete(payment.checkout_session_id, paid=False)  # A bank debit.
    time_machine.move_to(NOW + timedelta(hours=2), tick=False)

    assert reconcile() == ["Nothing to reconcile."]

    assert refreshed(payment).status == PaymentStatus.PENDING


def test_a_stripe_error_on_one_payment_does_not_stop_the_others(fake_stripe, time_machine):
    first = pay_online(InvoiceFactory(number=201))
    second = pay_online(InvoiceFactory(number=202))
    fake_stripe.complete(first.checkout_session_id)
    fake_stripe.complete(second.checkout_session_id)
    time_machine.move_to(NOW + timedelta(minutes=31), tick=False)
    fake_stripe.answer_next(fake.OUTAGE)

    lines = reconcile_pending_payments()

    assert lines[0].startswith("Invoice 000201: online payment of 80.00 USD not checked: ")
    assert "Something went wrong on Stripe's end" in lines[0]
    assert lines[1:] == ["Invoice 000202: online payment of 80.00 USD settled"]
    assert refreshed(first).status == PaymentStatus.PENDING
    assert refreshed(second).status == PaymentStatus.SUCCEEDED
    # The next round catches up.
    assert reconcile_pending_payments() == ["Invoice 000201: online payment of 80.00 USD settled"]


def test_a_checkout_stripe_refused_leaves_no_pending_payment(fake_stripe):
    invoice = InvoiceFactory()
    fake_stripe.answer_next(fake.OUTAGE)

    with pytest.raises(ProviderUnavailable):
        pay_online(invoice)

    [payment] = invoice.payments.all()
    assert payment.status == PaymentStatus.FAILED
    assert payment.last_error.startswith("Could not create a checkout with Stripe")
    # A retry makes a new checkout rather than finding the failed one.
    assert pay_online(invoice).checkout_url


def test_reconciliation_closes_a_payment_whose_checkout_was_never_made(fake_stripe, time_machine):
    """A worker that died between saving the payment and asking Stripe."""
    invoice = InvoiceFactory(number=301)
    Payment.objects.create(
        invoice=invoice, method="stripe", amount=Decimal("80.00"), idempotency_key="checkout-x"
    )
    time_machine.move_to(NOW + timedelta(minutes=31), tick=False)

    assert reconcile() == [
        "Invoice 000301: online payment of 80.00 USD closed: no checkout was made"
    ]

    assert not invoice.payments.filter(status=PaymentStatus.PENDING).exists()
    assert fake_stripe.requests == []


def test_reconciliation_does_nothing_without_stripe_keys(fake_stripe, settings, time_machine):
    pay_online(InvoiceFactory())
    settings.STRIPE_SECRET_KEY = ""
    time_machine.move_to(NOW + timedelta(hours=1), tick=False)

    assert reconcile() == ["Nothing to reconcile."]

    assert len(fake_stripe.requests) == 1


@pytest.mark.parametrize("minutes", ["-5", "10000000000"])
def test_the_command_refuses_an_age_out_of_range(fake_stripe, minutes):
    with pytest.raises(CommandError, match="--older-than takes 0 to"):
        reconcile("--older-than", minutes)


def test_the_worker_task_reconciles_and_keeps_its_report(fake_stripe, time_machine):
    payment = pay_online(InvoiceFactory(number=401))
    fake_stripe.complete(payment.checkout_session_id)
    time_machine.move_to(NOW + timedelta(minutes=31), tick=False)

    task_id = async_task("payments.tasks.reconcile_pending_payments", sync=True)

    task = Task.objects.get(id=task_id)
    assert task.success
    assert task.result == ["Invoice 000401: online payment of 80.00 USD settled"]


def test_the_reconciliation_schedule_exists_once(db):
    [schedule] = Schedule.objects.filter(func="payments.tasks.reconcile_pending_payments")
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        Schedule.MINUTES,
        15,
        -1,
    )
