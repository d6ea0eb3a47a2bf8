"""Discounts and write-offs at the desk (issue 16, point 7), through the adjustment
services: reception within the manager's limits, managers beyond them; nothing is
changed by a refusal; every adjustment is an audit row that is never edited and is
undone only by a reversal; an open online checkout for the old balance is closed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction

from payments.adjustment_services import (
    AdjustmentError,
    OverLimit,
    give_discount,
    reverse_adjustment,
    write_off,
)
from payments.exceptions import PaymentError
from payments.models import (
    AdjustmentKind,
    BillingLimits,
    Invoice,
    InvoiceAdjustment,
    InvoiceStatus,
    PaymentStatus,
)
from payments.provider_services import record_provider_dispute
from payments.services import (
    new_payment_token,
    record_desk_payment,
    settle_online_payment,
    start_online_payment,
    void_invoice,
)
from tests.factories import InvoiceFactory, PatientFactory, SessionFactory

D = Decimal


@pytest.fixture
def invoice(db) -> Invoice:
    """Anna's open invoice: a consultation at 50.00 and a test at 30.00."""
    return InvoiceFactory(
        session=SessionFactory(
            completed=True, patient=PatientFactory(given_name="Anna", family_name="Smithson")
        ),
        lines=[D("50.00"), D("30.00")],
    )


@pytest.fixture
def limits(db) -> BillingLimits:
    """The manager lets reception discount 10% and write off 20.00 of an invoice."""
    limits, _ = BillingLimits.objects.update_or_create(
        pk=1,
        defaults={
            "reception_max_discount_percent": D("10.00"),
            "reception_max_write_off": D("20.00"),
        },
    )
    return limits


def reloaded(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def figures(invoice: Invoice) -> tuple:
    invoice = reloaded(invoice)
    return (invoice.status, invoice.total, invoice.amount_written_off, invoice.balance)


def pay(invoice: Invoice, amount: str) -> None:
    record_desk_payment(
        invoice=invoice,
        method="cash",
        amount=D(amount),
        idempotency_key=new_payment_token(),
        by=None,
    )


def refused(call, **kwargs) -> str:
    """Runs `call`, which must refuse; returns its message."""
    with pytest.raises(AdjustmentError) as refusal:
        call(**kwargs)
    return refusal.value.message


# --- Discounts --------------------------------------------------------------------


def test_reception_gives_a_ten_percent_senior_discount(invoice, receptionist, limits):
    discount = give_discount(
        invoice=invoice, percent=D("10"), reason="Senior discount", by=receptionist
    )

    assert (discount.kind, discount.amount, discount.percent) == (
        AdjustmentKind.DISCOUNT,
        D("8.00"),
        D("10"),
    )
    assert (discount.reason, discount.created_by) == ("Senior discount", receptionist)
    invoice = reloaded(invoice)
    assert (invoice.subtotal, invoice.amount_discounted, invoice.total, invoice.balance) == (
        D("80.00"),
        D("8.00"),
        D("72.00"),
        D("72.00"),
    )
    assert invoice.status == InvoiceStatus.OPEN


def test_a_discount_given_as_an_amount_lowers_the_total(invoice, receptionist, limits):
    give_discount(invoice=invoice, amount=D("5.00"), reason="Kept waiting", by=receptionist)

    assert figures(invoice) == (InvoiceStatus.OPEN, D("75.00"), 0, D("75.00"))


def test_a_discount_of_everything_left_pays_the_invoice(invoice, manager):
    pay(invoice, "60.00")

    give_discount(invoice=invoice, amount=D("20.00"), reason="Staff family", by=manager)

    assert figures(invoice) == (InvoiceStatus.PAID, D("60.00"), 0, 0)


@pytest.mark.parametrize(
    ("already", "discount"),
    [
        (None, {"percent": D("10.01")}),
        (None, {"amount": D("8.01")}),
        # The limit is for all the invoice's discounts together.
        ("5.00", {"amount": D("3.01")}),
        ("5.00", {"percent": D("5")}),
    ],
)
def test_reception_cannot_discount_beyond_the_managers_percentage(
    invoice, receptionist, limits, already, discount
):
    if already:
        give_discount(invoice=invoice, amount=D(already), reason="Kept waiting", by=receptionist)
    before = figures(invoice)

    with pytest.raises(OverLimit) as refusal:
        give_discount(invoice=invoice, reason="Senior discount", by=receptionist, **discount)

    given = already or "0.00"
    assert refusal.value.message == (
        "Reception may discount at most 10% of this invoice's services "
        f"(8.00 USD in all; {given} USD given already). A manager can give more."
    )
    assert figures(invoice) == before
    assert InvoiceAdjustment.objects.count() == (1 if already else 0)


def test_reception_may_give_up_to_the_limit_exactly(invoice, receptionist, limits):
    give_discount(invoice=invoice, amount=D("5.00"), reason="Kept waiting", by=receptionist)
    give_discount(invoice=invoice, amount=D("3.00"), reason="Senior discount", by=receptionist)

    assert reloaded(invoice).amount_discounted == D("8.00")


def test_a_manager_discounts_beyond_receptions_limit(invoice, manager, limits):
    give_discount(invoice=invoice, percent=D("50"), reason="Hardship", by=manager)

    assert figures(invoice) == (InvoiceStatus.OPEN, D("40.00"), 0, D("40.00"))


def test_the_manager_sets_receptions_limit(invoice, receptionist, limits):
    limits.reception_max_discount_percent = D("20")
    limits.save()

    give_discount(invoice=invoice, percent=D("15"), reason="Loyalty", by=receptionist)

    assert reloaded(invoice).total == D("68.00")


def test_without_limits_set_reception_may_discount_ten_percent(invoice, receptionist):
    BillingLimits.objects.all().delete()

    assert "at most 10%" in refused(
        give_discount, invoice=invoice, percent=D("11"), reason="Loyalty", by=receptionist
    )


def test_a_percentage_discount_rounds_half_up_and_stays_within_the_limit(receptionist, limits):
    invoice = InvoiceFactory(lines=[D("80.05")])

    discount = give_discount(
        invoice=invoice, percent=D("10"), reason="Senior discount", by=receptionist
    )

    assert discount.amount == D("8.01")
    assert reloaded(invoice).total == D("72.04")


def test_a_discount_in_a_currency_without_cents_is_whole(receptionist, limits):
    invoice = InvoiceFactory(currency="JPY", lines=[D("1505.00")])

    discount = give_discount(
        invoice=invoice, percent=D("10"), reason="Senior discount", by=receptionist
    )

    assert discount.amount == D("151.00")
    assert (
        refused(
            give_discount, invoice=invoice, amount=D("0.50"), reason="Kept waiting", by=receptionist
        )
        == "JPY has no smaller unit than 1."
    )


def test_a_discount_that_would_make_the_total_negative_is_refused(invoice, manager):
    message = refused(give_discount, invoice=invoice, amount=D("80.01"), reason="Oops", by=manager)

    assert message == "A discount of 80.01 USD would make the total negative (it is 80.00 USD)."
    assert not InvoiceAdjustment.objects.exists()
    assert reloaded(invoice).total == D("80.00")


def test_a_discount_above_what_is_still_due_is_refused(invoice, manager):
    pay(invoice, "50.00")

    message = refused(
        give_discount, invoice=invoice, amount=D("40.00"), reason="Hardship", by=manager
    )

    assert message == (
        "A discount of 40.00 USD is more than the 30.00 USD still due; "
        "to give money back, refund a payment."
    )
    assert figures(invoice) == (InvoiceStatus.OPEN, D("80.00"), 0, D("30.00"))


def test_no_discount_on_a_paid_invoice(invoice, manager):
    pay(invoice, "80.00")

    message = refused(
        give_discount, invoice=invoice, percent=D("10"), reason="Senior discount", by=manager
    )

    assert message == (
        "Nothing is due on this invoice: a discount would only leave money to give back. "
        "To give money back, refund a payment."
    )
    assert figures(invoice) == (InvoiceStatus.PAID, D("80.00"), 0, 0)


def test_no_discount_on_a_void_invoice(invoice, manager):
    void_invoice(invoice=invoice, reason="Entered twice", by=manager)

    message = refused(
        give_discount, invoice=invoice, percent=D("10"), reason="Senior discount", by=manager
    )

    assert message == "The invoice is void: it takes no discount or write-off."
    assert not InvoiceAdjustment.objects.exists()


@pytest.mark.parametrize(
    ("discount", "message"),
    [
        ({"reason": "  ", "percent": D("10")}, "Say why."),
        ({"reason": "x" * 301, "percent": D("10")}, "Say why in at most 300 characters."),
        ({"reason": "Both"}, "Give the discount as an amount or as a percentage."),
        (
            {"reason": "Both", "amount": D("1"), "percent": D("1")},
            "Give the discount as an amount or as a percentage.",
        ),
        ({"reason": "Odd", "percent": D("0")}, "A percentage is more than 0 and at most 100."),
        ({"reason": "Odd", "percent": D("100.5")}, "A percentage is more than 0 and at most 100."),
        ({"reason": "Odd", "percent": D("1.005")}, "A percentage is more than 0 and at most 100."),
        ({"reason": "Odd", "amount": D("0")}, "The amount must be more than zero."),
        ({"reason": "Odd", "amount": D("-5")}, "The amount must be more than zero."),
    ],
)
def test_a_discount_needs_a_reason_and_one_sensible_amount(invoice, manager, discount, message):
    assert refused(give_discount, invoice=invoice, by=manager, **discount) == message
    assert not InvoiceAdjustment.objects.exists()


def test_the_same_discount_form_twice_gives_one_discount(invoice, receptionist, limits):
    token = new_payment_token()

    first = give_discount(
        invoice=invoice, percent=D("10"), reason="Senior", by=receptionist, idempotency_key=token
    )
    second = give_discount(
        invoice=invoice, percent=D("10"), reason="Senior", by=receptionist, idempotency_key=token
    )

    assert first == second
    assert reloaded(invoice).total == D("72.00")


def test_a_form_used_on_another_invoice_is_refused(invoice, receptionist, limits):
    token = new_payment_token()
    give_discount(
        invoice=invoice,
        amount=D("1.00"),
        reason="Kept waiting",
        by=receptionist,
        idempotency_key=token,
    )

    assert (
        refused(
            give_discount,
            invoice=InvoiceFactory(),
            amount=D("1.00"),
            reason="Kept waiting",
            by=receptionist,
            idempotency_key=token,
        )
        == "This form was already used; open the invoice again."
    )


# --- Write-offs -------------------------------------------------------------------


def test_reception_writes_off_the_rest_within_their_limit(invoice, receptionist, limits):
    pay(invoice, "65.00")

    written_off = write_off(invoice=invoice, reason="Patient moved away", by=receptionist)

    assert (written_off.kind, written_off.amount) == (AdjustmentKind.WRITE_OFF, D("15.00"))
    invoice = reloaded(invoice)
    assert figures(invoice) == (InvoiceStatus.WRITTEN_OFF, D("80.00"), D("15.00"), 0)
    # Settled without money: nothing more was paid.
    assert invoice.amount_paid == D("65.00")


def test_part_of_the_balance_is_written_off(invoice, receptionist, limits):
    write_off(invoice=invoice, amount=D("5.00"), reason="Rounding", by=receptionist)

    assert figures(invoice) == (InvoiceStatus.OPEN, D("80.00"), D("5.00"), D("75.00"))


def test_reception_cannot_write_off_beyond_their_limit(invoice, receptionist, limits):
    write_off(invoice=invoice, amount=D("15.00"), reason="Goodwill", by=receptionist)

    with pytest.raises(OverLimit) as refusal:
        write_off(invoice=invoice, amount=D("5.01"), reason="More goodwill", by=receptionist)

    assert refusal.value.message == (
        "Reception may write off at most 20.00 USD of an invoice "
        "(15.00 USD written off already). A manager can write off more."
    )
    assert figures(invoice) == (InvoiceStatus.OPEN, D("80.00"), D("15.00"), D("65.00"))


def test_by_default_only_managers_write_off(invoice, receptionist):
    assert refused(
        write_off, invoice=invoice, amount=D("0.01"), reason="Goodwill", by=receptionist
    ).startswith("Reception may write off at most 0.00 USD of an invoice")


def test_a_manager_writes_off_a_whole_unpaid_invoice(invoice, manager):
    write_off(invoice=invoice, reason="Patient deceased", by=manager)

    invoice = reloaded(invoice)
    assert figures(invoice) == (InvoiceStatus.WRITTEN_OFF, D("80.00"), D("80.00"), 0)
    assert invoice.amount_paid == 0


def test_a_write_off_above_the_balance_is_refused(invoice, manager):
    pay(invoice, "70.00")

    message = refused(write_off, invoice=invoice, amount=D("10.01"), reason="Goodwill", by=manager)

    assert message == "At most the balance, 10.00 USD, can be written off."
    assert not InvoiceAdjustment.objects.exists()


def test_nothing_is_written_off_on_a_paid_invoice(invoice, manager):
    pay(invoice, "80.00")

    assert refused(write_off, invoice=invoice, reason="Goodwill", by=manager) == (
        "Nothing is due on this invoice: there is nothing to write off."
    )


# --- Reversals --------------------------------------------------------------------


def test_a_reversed_discount_is_owed_again(invoice, receptionist, limits):
    discount = give_discount(
        invoice=invoice, percent=D("10"), reason="Senior discount", by=receptionist
    )
    pay(invoice, "72.00")

    reversal = reverse_adjustment(
        adjustment=discount, reason="Not a senior after all", by=receptionist
    )

    assert (reversal.kind, reversal.amount, reversal.reverses) == (
        AdjustmentKind.DISCOUNT,
        D("8.00"),
        discount,
    )
    assert figures(invoice) == (InvoiceStatus.OPEN, D("80.00"), 0, D("8.00"))
    # The audit keeps both rows, the original as it was.
    original = InvoiceAdjustment.objects.get(pk=discount.pk)
    assert (original.amount, original.reason) == (D("8.00"), "Senior discount")
    assert InvoiceAdjustment.objects.count() == 2


def test_a_reversed_write_off_is_owed_again(invoice, manager):
    written_off = write_off(invoice=invoice, reason="Patient moved away", by=manager)

    reverse_adjustment(adjustment=written_off, reason="They came back", by=manager)

    assert figures(invoice) == (InvoiceStatus.OPEN, D("80.00"), 0, D("80.00"))


def test_an_adjustment_is_reversed_once_and_a_reversal_never(invoice, manager):
    discount = give_discount(invoice=invoice, amount=D("5.00"), reason="Waited", by=manager)
    reversal = reverse_adjustment(adjustment=discount, reason="Mistake", by=manager)

    assert refused(reverse_adjustment, adjustment=discount, reason="Again", by=manager) == (
        "This adjustment is reversed already."
    )
    assert refused(reverse_adjustment, adjustment=reversal, reason="Undo", by=manager) == (
        "A reversal is not reversed; make the adjustment again."
    )
    assert refused(reverse_adjustment, adjustment=discount, reason=" ", by=manager) == "Say why."
    assert reloaded(invoice).total == D("80.00")


def test_a_void_invoices_discount_is_not_reversed(invoice, manager):
    discount = give_discount(invoice=invoice, amount=D("5.00"), reason="Waited", by=manager)
    void_invoice(invoice=invoice, reason="Entered twice", by=manager)

    assert refused(reverse_adjustment, adjustment=discount, reason="Undo", by=manager) == (
        "The invoice is void: its bill no longer changes."
    )


def test_the_database_reverses_an_adjustment_once(invoice, manager):
    discount = give_discount(invoice=invoice, amount=D("5.00"), reason="Waited", by=manager)
    reverse_adjustment(adjustment=discount, reason="Mistake", by=manager)

    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceAdjustment.objects.create(
            invoice=invoice,
            kind=AdjustmentKind.DISCOUNT,
            amount=D("5.00"),
            reason="Twice",
            reverses=discount,
            created_by=manager,
        )


# --- The audit is never edited ----------------------------------------------------


def test_an_adjustment_is_never_changed_or_deleted(invoice, manager):
    discount = give_discount(invoice=invoice, amount=D("5.00"), reason="Waited", by=manager)

    discount.amount = D("50.00")
    with pytest.raises(ValidationError, match="never changed"):
        discount.save()
    with pytest.raises(ValidationError, match="never deleted"):
        discount.delete()

    assert InvoiceAdjustment.objects.get().amount == D("5.00")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="The trigger is PostgreSQL's")
def test_the_database_refuses_to_edit_an_adjustment_even_in_sql(invoice, manager):
    discount = give_discount(invoice=invoice, amount=D("5.00"), reason="Waited", by=manager)

    for statement in [
        "UPDATE payments_invoiceadjustment SET amount = 50 WHERE id = %s",
        "DELETE FROM payments_invoiceadjustment WHERE id = %s",
    ]:
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [discount.pk])

    assert InvoiceAdjustment.objects.get().amount == D("5.00")


@pytest.mark.parametrize(
    "fields",
    [
        {"amount": D("0.00")},
        {"reason": ""},
        {"kind": "gift"},
        {"percent": D("0")},
        {"percent": D("100.01")},
    ],
)
def test_the_database_refuses_a_senseless_adjustment(invoice, manager, fields):
    row = {"kind": AdjustmentKind.DISCOUNT, "amount": D("5.00"), "reason": "Waited", **fields}

    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceAdjustment.objects.create(invoice=invoice, created_by=manager, **row)


# --- Card disputes and online payment ----------------------------------------------


@pytest.fixture
def disputed(invoice, fake_stripe) -> Invoice:
    """Anna paid online; her bank then disputed the charge, which is still open."""
    payment = start_online_payment(invoice=invoice, by=None, base_url="https://clinic.test")
    settle_online_payment(payment=payment, payment_intent_id="pi_anna")
    record_provider_dispute(
        payment=payment,
        provider_dispute_id="dp_anna",
        amount=D("80.00"),
        status="needs_response",
        reason="fraudulent",
    )
    return reloaded(invoice)


def test_an_open_card_dispute_holds_the_bill(disputed, manager):
    message = refused(write_off, invoice=disputed, reason="Lost cause", by=manager)

    assert message == (
        "A card dispute on this invoice is still open: wait for Stripe's decision "
        "before changing the bill."
    )


def test_a_lost_dispute_can_be_written_off(disputed, manager):
    record_provider_dispute(
        payment=disputed.payments.get(),
        provider_dispute_id="dp_anna",
        amount=D("80.00"),
        status="lost",
        reason="fraudulent",
    )

    write_off(invoice=disputed, reason="Chargeback lost", by=manager)

    invoice = reloaded(disputed)
    assert (invoice.amount_written_off, invoice.balance) == (D("80.00"), 0)
    assert invoice.status == InvoiceStatus.DISPUTED  # Stripe still keeps the money.


@pytest.mark.parametrize(
    "adjust",
    [
        lambda invoice, by: give_discount(invoice=invoice, percent=D("10"), reason="Senior", by=by),
        lambda invoice, by: write_off(invoice=invoice, amount=D("5.00"), reason="Goodwill", by=by),
    ],
    ids=["discount", "write-off"],
)
def test_an_adjustment_closes_the_checkout_for_the_old_balance(
    invoice, manager, fake_stripe, adjust
):
    online = start_online_payment(invoice=invoice, by=None, base_url="https://clinic.test")

    adjust(invoice, manager)

    assert len(fake_stripe.expire_calls(online.checkout_session_id)) == 1
    assert fake_stripe.session(online.checkout_session_id)["status"] == "expired"
    online.refresh_from_db()
    assert online.status == PaymentStatus.EXPIRED
    # The next checkout is for the new balance.
    again = start_online_payment(invoice=invoice, by=None, base_url="https://clinic.test")
    assert again.amount == reloaded(invoice).balance < D("80.00")


def test_a_reversal_closes_the_checkout_for_the_old_balance(invoice, manager, fake_stripe):
    discount = give_discount(invoice=invoice, amount=D("8.00"), reason="Senior", by=manager)
    online = start_online_payment(invoice=invoice, by=None, base_url="https://clinic.test")
    assert online.amount == D("72.00")

    reverse_adjustment(adjustment=discount, reason="Not a senior", by=manager)

    assert fake_stripe.session(online.checkout_session_id)["status"] == "expired"


def test_no_discount_while_the_patient_has_just_paid_online(invoice, manager, fake_stripe):
    online = start_online_payment(invoice=invoice, by=None, base_url="https://clinic.test")
    fake_stripe.complete(online.checkout_session_id)

    with pytest.raises(PaymentError, match="has just paid this invoice online"):
        give_discount(invoice=invoice, percent=D("10"), reason="Senior", by=manager)

    assert not InvoiceAdjustment.objects.exists()
    assert fake_stripe.expire_calls(online.checkout_session_id) == []
    online.refresh_from_db()
    assert online.status == PaymentStatus.PENDING  # The webhook settles it.
