"""The money rules of DESIGN.md section 5, through the payments services: invoices
open from completed sessions, payments never exceed the balance or count twice,
refunds never exceed what was paid, and totals and status are always derived."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction

from notifications.models import Notification
from payments.exceptions import PaymentError
from payments.models import Invoice, InvoiceStatus, Payment, PaymentStatus
from payments.money import from_minor_units, to_minor_units
from payments.services import (
    new_payment_token,
    open_invoice,
    record_desk_payment,
    refresh_totals,
    refund_payment,
    void_invoice,
)
from scheduling.models import Status as AppointmentStatus
from sessions_app.models import PerformedService
from sessions_app.services import complete_session
from tests.concurrency import all_at_once
from tests.factories import InvoiceFactory, ServiceFactory, SessionFactory

D = Decimal


def pay(invoice: Invoice, amount: str, method: str = "cash", **options) -> Payment:
    return record_desk_payment(
        invoice=invoice,
        method=method,
        amount=D(amount),
        idempotency_key=options.pop("idempotency_key", new_payment_token()),
        by=options.pop("by", None),
    )


def in_progress_session():
    return SessionFactory(in_progress=True, appointment__status=AppointmentStatus.IN_SESSION)


def reloaded(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


# --- Invoices from sessions ---------------------------------------------------------


def test_completing_a_session_opens_its_invoice_at_the_days_prices(db, settings):
    settings.CLINIC_CURRENCY = "EUR"
    session = in_progress_session()
    consult = ServiceFactory(code="consult", name="Consultation", price=D("80.00"))
    ecg = ServiceFactory(code="ecg", name="ECG", price=D("35.50"))

    complete_session(session=session, by=session.doctor.user, performed=[(consult, 1), (ecg, 2)])
    consult.price = D("95.00")  # A later price change leaves the invoice alone.
    consult.save()

    invoice = session.invoice
    assert [(line.description, line.quantity, line.unit_price) for line in invoice.lines.all()] == [
        ("Consultation", 1, D("80.00")),
        ("ECG", 2, D("35.50")),
    ]
    assert (invoice.total, invoice.balance, invoice.status) == (
        D("151.00"),
        D("151.00"),
        InvoiceStatus.OPEN,
    )
    assert (invoice.currency, invoice.patient) == ("EUR", session.patient)


def test_invoice_numbers_follow_each_other(db):
    numbers = [open_invoice(session=SessionFactory(completed=True)).number for _ in range(3)]
    assert numbers == [1, 2, 3]


def test_a_session_has_one_invoice(db):
    session = SessionFactory(completed=True)
    assert open_invoice(session=session) == open_invoice(session=session)
    assert Invoice.objects.count() == 1


def test_a_rolled_back_invoice_gives_its_number_back(db):
    def open_then_fail() -> None:
        with transaction.atomic():
            open_invoice(session=SessionFactory(completed=True))
            raise RuntimeError("the completion failed after the invoice")

    with pytest.raises(RuntimeError):
        open_then_fail()

    assert open_invoice(session=SessionFactory(completed=True)).number == 1


def test_a_free_visit_is_paid_at_once(db):
    session = SessionFactory(completed=True)
    PerformedService.objects.create(
        session=session, service=ServiceFactory(), quantity=1, unit_price=D("0.00")
    )

    assert open_invoice(session=session).status == InvoiceStatus.PAID


# --- Payments at the desk -----------------------------------------------------------


def test_partial_payments_add_up_to_paid(db):
    invoice = InvoiceFactory(lines=[D("50.00"), D("30.00")])

    pay(invoice, "30.00", "cash")
    assert (reloaded(invoice).balance, reloaded(invoice).status) == (D("50.00"), "open")

    pay(invoice, "50.00", "card_terminal")
    invoice = reloaded(invoice)
    assert (invoice.amount_paid, invoice.balance, invoice.status) == (
        D("80.00"),
        D("0.00"),
        InvoiceStatus.PAID,
    )
    assert [payment.method for payment in invoice.payments.all()] == ["cash", "card_terminal"]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("80.01", "The balance is 80.00 USD; a payment of 80.01 would be more than that."),
        ("0", "A payment must be more than zero."),
        ("-5", "A payment must be more than zero."),
    ],
)
def test_a_payment_above_the_balance_or_not_positive_is_refused(db, amount, message):
    invoice = InvoiceFactory()

    with pytest.raises(PaymentError) as refused:
        pay(invoice, amount)

    assert refused.value.message == message
    assert not Payment.objects.exists()
    assert reloaded(invoice).amount_paid == 0


def test_the_same_form_twice_records_one_payment(db, receptionist):
    invoice = InvoiceFactory()
    token = new_payment_token()

    first = pay(invoice, "30.00", idempotency_key=token, by=receptionist)
    second = pay(invoice, "30.00", idempotency_key=token, by=receptionist)

    assert first == second
    assert reloaded(invoice).amount_paid == D("30.00")


# Transactional (the threads need committed rows), so it empties every table when it
# ends; the serialized rollback and migrated_data_restored put the roles back for
# the files that run after this one on the same worker.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("migrated_data_restored")
def test_a_double_click_from_two_threads_records_one_payment():
    invoice = InvoiceFactory()
    token = new_payment_token()

    results = all_at_once([lambda: pay(invoice, "80.00", idempotency_key=token)] * 2)

    assert all(isinstance(result, Payment) for result in results), results
    assert Payment.objects.count() == 1
    assert reloaded(invoice).status == InvoiceStatus.PAID


def test_online_payments_are_not_taken_at_the_desk(db):
    with pytest.raises(PaymentError, match="not taken at the desk"):
        pay(InvoiceFactory(), "10.00", "stripe")


def test_a_void_invoice_takes_no_payment(db):
    invoice = void_invoice(invoice=InvoiceFactory(), reason="Billed twice", by=None)

    with pytest.raises(PaymentError, match="void"):
        pay(invoice, "10.00")


# --- Refunds ------------------------------------------------------------------------


def test_refunds_are_bounded_by_what_the_payment_brought(db, receptionist):
    invoice = InvoiceFactory(lines=[D("50.00"), D("30.00")])
    cash = pay(invoice, "30.00")
    pay(invoice, "50.00", "card_terminal")

    refund_payment(payment=cash, amount=D("10.00"), reason="Overcharged", by=receptionist)
    assert reloaded(invoice).status == InvoiceStatus.PARTIALLY_REFUNDED
    assert reloaded(invoice).balance == D("10.00")

    with pytest.raises(PaymentError) as refused:
        refund_payment(payment=cash, amount=D("20.01"), reason="Again", by=receptionist)
    assert refused.value.message == "At most 20.00 USD of this payment can be refunded."

    refund_payment(payment=cash, amount=D("20.00"), reason="Rest", by=receptionist)
    assert cash.refunds.count() == 2
    assert reloaded(invoice).amount_refunded == D("30.00")


def test_refunding_everything_makes_the_invoice_refunded(db):
    invoice = InvoiceFactory()
    payment = pay(invoice, "80.00")

    refund_payment(payment=payment, amount=D("80.00"), reason="Visit disputed", by=None)

    invoice = reloaded(invoice)
    assert (invoice.status, invoice.net_paid) == (InvoiceStatus.REFUNDED, D("0.00"))


@pytest.mark.parametrize(
    ("amount", "reason", "message"),
    [
        ("0", "Why", "A refund must be more than zero."),
        ("-1", "Why", "A refund must be more than zero."),
        ("5", "  ", "Say why the money is refunded."),
    ],
)
def test_a_refund_needs_an_amount_and_a_reason(db, amount, reason, message):
    payment = pay(InvoiceFactory(), "80.00")

    with pytest.raises(PaymentError) as refused:
        refund_payment(payment=payment, amount=D(amount), reason=reason, by=None)

    assert refused.value.message == message
    assert not payment.refunds.exists()


def test_only_a_payment_that_went_through_is_refunded(db):
    invoice = InvoiceFactory()
    pending = Payment.objects.create(
        invoice=invoice, method="stripe", amount=D("80.00"), idempotency_key="checkout-test"
    )

    with pytest.raises(PaymentError, match="went through"):
        refund_payment(payment=pending, amount=D("1.00"), reason="Test", by=None)


# --- Void ---------------------------------------------------------------------------


def test_an_unpaid_invoice_can_be_void_with_a_reason(db, receptionist):
    invoice = void_invoice(invoice=InvoiceFactory(), reason="Wrong patient", by=receptionist)

    invoice = reloaded(invoice)
    assert (invoice.status, invoice.balance) == (InvoiceStatus.VOID, D("0.00"))
    assert (invoice.voided_by, invoice.void_reason) == (receptionist, "Wrong patient")
    with pytest.raises(PaymentError, match="void already"):
        void_invoice(invoice=invoice, reason="Again", by=receptionist)


def test_a_paid_invoice_cannot_be_void(db):
    invoice = InvoiceFactory()
    pay(invoice, "10.00")

    with pytest.raises(PaymentError, match="Only an unpaid invoice"):
        void_invoice(invoice=invoice, reason="Oops", by=None)
    assert reloaded(invoice).status == InvoiceStatus.OPEN


def test_void_needs_a_reason(db):
    with pytest.raises(PaymentError, match="Say why"):
        void_invoice(invoice=InvoiceFactory(), reason="", by=None)


# --- Totals are derived -------------------------------------------------------------


def test_totals_are_recomputed_from_the_rows_whatever_was_stored(db):
    invoice = InvoiceFactory()
    pay(invoice, "30.00")
    Invoice.objects.filter(pk=invoice.pk).update(total=0, amount_paid=999, status="paid")

    invoice = refresh_totals(reloaded(invoice))

    assert (invoice.total, invoice.amount_paid, invoice.status) == (
        D("80.00"),
        D("30.00"),
        InvoiceStatus.OPEN,
    )


def test_pending_and_failed_online_payments_do_not_count(db):
    invoice = InvoiceFactory()
    for index, status in enumerate([PaymentStatus.PENDING, PaymentStatus.FAILED]):
        Payment.objects.create(
            invoice=invoice,
            method="stripe",
            amount=D("80.00"),
            status=status,
            idempotency_key=f"checkout-{index}",
        )

    assert refresh_totals(invoice).balance == D("80.00")


# --- The patient's thank-you text ---------------------------------------------------


def thank_you(session) -> Notification:
    return Notification.objects.get(template="session_completed", appointment=session.appointment)


def test_the_thank_you_text_links_to_online_payment_when_a_balance_is_due(db, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.PUBLIC_BASE_URL = "https://clinic.example.test"
    session = in_progress_session()

    complete_session(session=session, by=session.doctor.user)

    assert "You can pay your bill online: https://clinic.example.test/payments/pay/" in (
        thank_you(session).body
    )


@pytest.mark.parametrize("stripe_key", ["", "sk_test_fake"])
def test_no_link_without_online_payment_or_without_a_balance(db, settings, stripe_key):
    settings.STRIPE_SECRET_KEY = stripe_key
    settings.PUBLIC_BASE_URL = "https://clinic.example.test"
    session = in_progress_session()
    free = ServiceFactory(code="free", price=D("0.00"))

    complete_session(
        session=session, by=session.doctor.user, performed=[(free, 1)] if stripe_key else None
    )

    assert "pay" not in thank_you(session).body


# --- Invoice numbers under concurrency ----------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="Row locks are PostgreSQL's; SQLite serializes"
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("migrated_data_restored")
def test_invoice_numbers_stay_unique_and_gap_free_under_concurrency():
    sessions = [SessionFactory(completed=True) for _ in range(20)]

    def open_then_maybe_fail(session, fail: bool):
        with transaction.atomic():
            invoice = open_invoice(session=session)
            if fail:
                raise RuntimeError("rolled back")
            return invoice

    results = all_at_once(
        [
            (lambda session=session, index=index: open_then_maybe_fail(session, index % 4 == 0))
            for index, session in enumerate(sessions)
        ]
    )

    assert sum(isinstance(result, RuntimeError) for result in results) == 5
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == list(range(1, 16))


# --- Money ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("80.00", "USD", 8000), ("0.01", "EUR", 1), ("1500", "JPY", 1500), ("12.5", "usd", 1250)],
)
def test_amounts_go_to_stripe_in_minor_units_and_back(amount, currency, minor):
    assert to_minor_units(D(amount), currency) == minor
    assert from_minor_units(minor, currency) == D(amount).quantize(D("0.01"))


def test_a_fraction_of_a_cent_is_refused():
    with pytest.raises(ValueError, match="smallest unit"):
        to_minor_units(D("1.005"), "USD")
