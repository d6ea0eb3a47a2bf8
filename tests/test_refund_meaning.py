"""A refund says what it means (issue 16, point 7): money returned to the patient,
nothing more owed, unless staff choose to refund and re-bill. The balance does not
grow back after a refund, statuses read right, refunds made in Stripe's dashboard
mean the same, and invoices refunded before this rule read right after the data
migration.

The clock stands at Monday 2 March 2026, 17:00 UTC.
"""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.urls import reverse

from payments.adjustment_services import give_discount
from payments.exceptions import PaymentError
from payments.models import Invoice, InvoiceStatus, Payment, PaymentStatus, Refund, StripeEvent
from payments.reconciliation import reconcile_pending_payments
from payments.services import (
    new_payment_token,
    record_desk_payment,
    refresh_totals,
    refund_payment,
    settle_online_payment,
    start_online_payment,
)
from payments.tasks import process_stripe_event
from tests.factories import InvoiceFactory, PatientFactory, SessionFactory

D = Decimal
NOW = datetime(2026, 3, 2, 17, tzinfo=UTC)
SITE = "https://clinic.example.test"


@pytest.fixture(autouse=True)
def afternoon(time_machine) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def invoice(db) -> Invoice:
    """Anna's open invoice: a consultation at 50.00 and a test at 30.00."""
    return InvoiceFactory(
        session=SessionFactory(
            completed=True, patient=PatientFactory(given_name="Anna", family_name="Smithson")
        ),
        lines=[D("50.00"), D("30.00")],
    )


def reloaded(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def figures(invoice: Invoice) -> tuple:
    """Status, refunded, balance."""
    invoice = reloaded(invoice)
    return (invoice.status, invoice.amount_refunded, invoice.balance)


def pay(invoice: Invoice, amount: str) -> Payment:
    return record_desk_payment(
        invoice=invoice,
        method="cash",
        amount=D(amount),
        idempotency_key=new_payment_token(),
        by=None,
    )


def refund(payment: Payment, amount: str, **options) -> Refund:
    return refund_payment(
        payment=payment, amount=D(amount), reason=options.pop("reason", "Overcharged"), **options
    )


# --- Money returned, or re-billed --------------------------------------------------


def test_a_refund_is_money_returned_and_nothing_more_owed(invoice, receptionist):
    payment = pay(invoice, "80.00")

    refunded = refund(payment, "30.00", by=receptionist)

    assert refunded.owed_again is False
    assert figures(invoice) == (InvoiceStatus.PARTIALLY_REFUNDED, D("30.00"), 0)
    invoice = reloaded(invoice)
    assert (invoice.amount_credited, invoice.amount_owed, invoice.net_paid) == (
        D("30.00"),
        D("50.00"),
        D("50.00"),
    )


def test_refunding_everything_paid_leaves_nothing_owed(invoice):
    payment = pay(invoice, "80.00")

    refund(payment, "80.00", reason="Visit cancelled", by=None)

    assert figures(invoice) == (InvoiceStatus.REFUNDED, D("80.00"), 0)


def test_refund_and_rebill_makes_the_amount_due_again(invoice, receptionist):
    payment = pay(invoice, "80.00")

    rebilled = refund(payment, "30.00", reason="Wrong card", by=receptionist, owed_again=True)

    assert rebilled.owed_again is True
    assert figures(invoice) == (InvoiceStatus.OPEN, D("30.00"), D("30.00"))


def test_a_rebilled_refund_paid_again_is_paid(invoice, receptionist):
    payment = pay(invoice, "80.00")
    refund(payment, "30.00", reason="Wrong card", by=receptionist, owed_again=True)

    pay(invoice, "30.00")

    assert figures(invoice) == (InvoiceStatus.PAID, D("30.00"), 0)


def test_refunding_part_of_a_part_payment_lowers_what_is_owed(invoice):
    payment = pay(invoice, "50.00")

    refund(payment, "20.00", by=None)

    invoice = reloaded(invoice)
    assert (invoice.amount_owed, invoice.net_paid, invoice.balance) == (
        D("60.00"),
        D("30.00"),
        D("30.00"),
    )
    assert invoice.status == InvoiceStatus.OPEN  # Something is still due.


def test_giving_back_an_overpayment_forgives_nothing(invoice):
    pay(invoice, "80.00")
    # The patient also paid a checkout that Stripe could not close (see
    # _close_open_checkouts): the invoice shows 20.00 to give back.
    stray = Payment.objects.create(
        invoice=invoice,
        method="cash",
        amount=D("20.00"),
        status=PaymentStatus.SUCCEEDED,
        idempotency_key="desk-stray",
    )
    assert refresh_totals(reloaded(invoice)).overpaid == D("20.00")

    refund(stray, "20.00", reason="Paid twice", by=None)

    invoice = reloaded(invoice)
    assert (invoice.status, invoice.amount_credited, invoice.balance, invoice.overpaid) == (
        InvoiceStatus.PAID,
        0,
        0,
        0,
    )


def test_a_discounted_invoice_refunded_in_full_owes_nothing(invoice, manager):
    give_discount(invoice=invoice, percent=D("10"), reason="Senior discount", by=manager)
    payment = pay(invoice, "72.00")

    refund(payment, "72.00", reason="Visit cancelled", by=manager)

    assert figures(invoice) == (InvoiceStatus.REFUNDED, D("72.00"), 0)


# --- Online checkouts and Stripe --------------------------------------------------


def test_money_returned_leaves_the_checkout_for_the_same_balance_open(invoice, fake_stripe):
    cash = pay(invoice, "30.00")
    online = start_online_payment(invoice=invoice, by=None, base_url=SITE)

    refund(cash, "10.00", by=None)

    # 70.00 is owed now, 20.00 of it paid: still 50.00 to pay, as the checkout asks.
    assert reloaded(invoice).balance == online.amount == D("50.00")
    assert fake_stripe.expire_calls(online.checkout_session_id) == []
    online.refresh_from_db()
    assert online.status == PaymentStatus.PENDING


def test_a_rebilled_refund_closes_the_checkout_for_the_old_balance(invoice, fake_stripe):
    cash = pay(invoice, "30.00")
    online = start_online_payment(invoice=invoice, by=None, base_url=SITE)

    refund(cash, "10.00", by=None, owed_again=True)

    assert len(fake_stripe.expire_calls(online.checkout_session_id)) == 1
    online.refresh_from_db()
    assert online.status == PaymentStatus.EXPIRED
    assert start_online_payment(invoice=invoice, by=None, base_url=SITE).amount == D("60.00")


def test_no_rebilled_refund_while_the_patient_has_just_paid_online(invoice, fake_stripe):
    cash = pay(invoice, "30.00")
    online = start_online_payment(invoice=invoice, by=None, base_url=SITE)
    fake_stripe.complete(online.checkout_session_id)

    with pytest.raises(PaymentError, match="has just paid this invoice online"):
        refund(cash, "10.00", by=None, owed_again=True)

    assert not Refund.objects.exists()


def paid_online(fake_stripe, invoice: Invoice) -> Payment:
    payment = start_online_payment(invoice=invoice, by=None, base_url=SITE)
    session = fake_stripe.complete(payment.checkout_session_id)
    settle_online_payment(payment=payment, payment_intent_id=session["payment_intent"])
    payment.refresh_from_db()
    return payment


def stripe_reports(fake_stripe, payment: Payment, *, with_refunds: bool = True) -> str:
    """Stripe's `charge.refunded` event about the payment, processed by the worker."""
    charge = fake_stripe.charge(payment.payment_intent_id, with_refunds=with_refunds)
    event = fake_stripe.event("charge.refunded", charge)
    stored = StripeEvent.objects.create(
        event_id=event["id"], type=event["type"], payload=json.dumps(event)
    )
    return process_stripe_event(stored.pk)


def test_a_refund_in_stripes_dashboard_is_money_returned(invoice, fake_stripe):
    payment = paid_online(fake_stripe, invoice)
    fake_stripe.refund(payment.payment_intent_id, 3000)

    assert stripe_reports(fake_stripe, payment) == StripeEvent.Outcome.APPLIED

    [recorded] = Refund.objects.all()
    assert (recorded.amount, recorded.owed_again) == (D("30.00"), False)
    assert figures(invoice) == (InvoiceStatus.PARTIALLY_REFUNDED, D("30.00"), 0)


def test_a_dashboard_refund_reported_as_a_total_then_by_its_id_owes_nothing(invoice, fake_stripe):
    payment = paid_online(fake_stripe, invoice)
    fake_stripe.refund(payment.payment_intent_id, 8000)

    stripe_reports(fake_stripe, payment, with_refunds=False)
    assert figures(invoice) == (InvoiceStatus.REFUNDED, D("80.00"), 0)
    stripe_reports(fake_stripe, payment)

    assert Refund.objects.get().is_stand_in is False
    assert figures(invoice) == (InvoiceStatus.REFUNDED, D("80.00"), 0)


def test_a_dashboard_refund_found_by_the_reconciliation_owes_nothing(
    invoice, fake_stripe, time_machine
):
    payment = paid_online(fake_stripe, invoice)
    fake_stripe.refund(payment.payment_intent_id, 3000)  # Its webhook never comes.
    time_machine.move_to(NOW + timedelta(minutes=31), tick=False)

    assert len(reconcile_pending_payments()) == 1

    assert figures(invoice) == (InvoiceStatus.PARTIALLY_REFUNDED, D("30.00"), 0)


def test_a_rebilled_stripe_refund_stays_owed_when_stripe_reports_it(invoice, fake_stripe):
    payment = paid_online(fake_stripe, invoice)
    refund(payment, "30.00", reason="Charged the wrong card", by=None, owed_again=True)

    assert stripe_reports(fake_stripe, payment) == StripeEvent.Outcome.IGNORED

    [recorded] = Refund.objects.all()
    assert recorded.owed_again is True
    assert figures(invoice) == (InvoiceStatus.OPEN, D("30.00"), D("30.00"))


# --- What the pages say ------------------------------------------------------------


def invoice_page(client, invoice: Invoice) -> str:
    return client.get(reverse("payments:invoice", args=[invoice.pk])).content.decode()


def test_the_invoice_says_plainly_what_was_refunded(reception_client, invoice):
    refund(pay(invoice, "80.00"), "30.00", by=None)

    page = invoice_page(reception_client, invoice)

    assert "Refunded 30.00 USD to the patient." in page
    assert "Nothing more is owed." in page
    assert 'data-testid="balance">0.00 USD<' in page
    assert "Partially refunded" in page
    assert "money returned" in page


def test_the_invoice_says_what_a_rebilled_refund_leaves_due(reception_client, invoice):
    refund(pay(invoice, "80.00"), "30.00", by=None, owed_again=True)

    page = invoice_page(reception_client, invoice)

    assert "Refunded 30.00 USD to the patient." in page
    assert "30.00 USD is still due." in page
    assert 'data-testid="balance">30.00 USD<' in page
    assert "owed again" in page


def refund_url(payment: Payment) -> str:
    return reverse("payments:refund", args=[payment.invoice_id, payment.pk])


def test_the_refund_form_offers_both_meanings_with_money_returned_first(reception_client, invoice):
    pay(invoice, "80.00")

    [row] = reception_client.get(reverse("payments:invoice", args=[invoice.pk])).context["payments"]
    page = invoice_page(reception_client, invoice)

    assert row.refund_form["meaning"].value() == "returned"
    assert "Money returned: nothing more is owed" in page
    assert "Refund and re-bill: the amount is owed again" in page


@pytest.mark.parametrize(
    ("meaning", "owed_again", "message", "balance"),
    [
        ("returned", False, "money returned, nothing more owed", D("0.00")),
        ("rebill", True, "it is owed again", D("30.00")),
    ],
)
def test_reception_chooses_what_a_refund_means(
    reception_client, invoice, meaning, owed_again, message, balance
):
    payment = pay(invoice, "80.00")
    prefix = f"refund-{payment.pk}"

    response = reception_client.post(
        refund_url(payment),
        {
            f"{prefix}-amount": "30.00",
            f"{prefix}-reason": "Wrong card",
            f"{prefix}-meaning": meaning,
            f"{prefix}-token": new_payment_token(),
        },
        follow=True,
    )

    assert message in response.content.decode()
    assert Refund.objects.get().owed_again is owed_again
    assert reloaded(invoice).balance == balance


def test_an_unknown_meaning_is_refused_and_nothing_refunded(reception_client, invoice):
    payment = pay(invoice, "80.00")
    prefix = f"refund-{payment.pk}"

    response = reception_client.post(
        refund_url(payment),
        {
            f"{prefix}-amount": "30.00",
            f"{prefix}-reason": "Oops",
            f"{prefix}-meaning": "gift",
            f"{prefix}-token": new_payment_token(),
        },
    )

    assert response.status_code == 200
    assert not Refund.objects.exists()


def test_the_receipt_shows_the_refund_as_money_returned(reception_client, invoice):
    refund(pay(invoice, "80.00"), "30.00", by=None)

    receipt = reception_client.get(reverse("payments:receipt", args=[invoice.pk]))

    page = receipt.content.decode()
    assert "Refunded to the patient" in page
    assert "Refunded, nothing more owed" in page
    assert 'data-testid="receipt-balance-due">0.00 USD<' in page


def test_the_api_says_whether_a_refund_is_owed_again(reception_client, invoice):
    refund(pay(invoice, "80.00"), "30.00", by=None)

    body = reception_client.get(f"/api/v1/invoices/{invoice.pk}").json()

    assert (body["status"], body["amount_credited"], body["balance"]) == (
        "partially_refunded",
        "30.00",
        "0.00",
    )
    [payment] = body["payments"]
    assert [refund["owed_again"] for refund in payment["refunds"]] == [False]


# --- Invoices refunded before this rule ---------------------------------------------


def refunded_the_old_way(
    invoice: Invoice, *, paid: str, refunded: str, paid_again: str = ""
) -> Invoice:
    """An invoice as the old rule left it: every refund was owed again (and maybe
    paid again), written straight to the tables."""
    payment = pay(invoice, paid)
    Refund.objects.create(payment=payment, amount=D(refunded), reason="Overcharged")
    if paid_again:
        Payment.objects.create(
            invoice=invoice,
            method="cash",
            amount=D(paid_again),
            status=PaymentStatus.SUCCEEDED,
            idempotency_key=new_payment_token(),
        )
    Invoice.objects.filter(pk=invoice.pk).update(
        amount_paid=D(paid) + D(paid_again or "0"),
        amount_refunded=D(refunded),
        amount_credited=0,
        status=InvoiceStatus.PARTIALLY_REFUNDED,
    )
    return reloaded(invoice)


def migrate_refunds() -> None:
    migration = importlib.import_module("payments.migrations.0008_refunds_returned")
    migration.credit_refunds(apps, None)


def test_the_migration_stops_old_refunds_showing_as_a_balance_due(invoice):
    old = refunded_the_old_way(invoice, paid="80.00", refunded="30.00")
    assert old.balance == D("30.00")

    migrate_refunds()

    assert figures(invoice) == (InvoiceStatus.PARTIALLY_REFUNDED, D("30.00"), 0)
    assert reloaded(invoice).amount_credited == D("30.00")


def test_the_migration_leaves_an_old_refund_paid_again_paid(invoice):
    refunded_the_old_way(invoice, paid="80.00", refunded="30.00", paid_again="30.00")

    migrate_refunds()

    assert figures(invoice) == (InvoiceStatus.PAID, D("30.00"), 0)
    assert reloaded(invoice).amount_credited == 0


def test_the_migration_derives_what_refresh_totals_derives(db):
    invoices = [InvoiceFactory() for _ in range(4)]
    refunded_the_old_way(invoices[0], paid="80.00", refunded="80.00")
    refunded_the_old_way(invoices[1], paid="50.00", refunded="20.00")
    refunded_the_old_way(invoices[2], paid="80.00", refunded="10.00", paid_again="10.00")

    migrate_refunds()

    for invoice in invoices:
        stored = reloaded(invoice)
        derived = refresh_totals(reloaded(invoice))
        assert (stored.status, stored.amount_credited, stored.balance) == (
            derived.status,
            derived.amount_credited,
            derived.balance,
        )
