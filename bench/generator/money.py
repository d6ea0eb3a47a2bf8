"""The generated money: an invoice for each completed session, numbered without
gaps in the order they were issued, with its lines, the payments made at the desk
or online (some in part, some late, some not yet, a few expired links), refunds and
voided invoices; totals and status as `refresh_totals` derives them."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count

from django.conf import settings
from django.db import models

from bench.generator.context import Context, Progress, Visit
from bench.generator.seeded import between
from bench.generator.sizes import BATCH_SIZE
from bench.generator.words import REFUND_REASONS, VOID_REASONS
from bench.generator.writing import Writer, next_id
from payments.models import Invoice, InvoiceCounter, InvoiceLine, Payment, PaymentStatus, Refund
from scheduling.models import Status

METHODS = (("cash", 25), ("card_terminal", 55), ("stripe", 20))
ZERO = Decimal("0.00")
ONE = Decimal("1")
CENT = Decimal("0.01")


def write_invoices(ctx: Context, progress: Progress) -> None:
    """One invoice per completed session, numbered 1..N in the order they were
    issued, with a line per performed service, its payments and refunds; the
    counter left at N."""
    rng = ctx.rng("invoices")
    writer = Writer(ctx)
    completed = sorted(
        (visit for visit in ctx.visits if visit.status == Status.COMPLETED),
        key=lambda visit: (visit.completed_at, visit.id),
    )
    first_invoice = next_id(Invoice)
    payment_ids = count(next_id(Payment))
    for number, visit in enumerate(completed, 1):
        rows = _invoice(ctx, rng, visit, first_invoice + number - 1, number, payment_ids)
        for row in rows:
            writer.add(row)
        if number % BATCH_SIZE == 0 or number == len(completed):
            progress("invoices", number, len(completed))
    writer.flush()
    InvoiceCounter.objects.update_or_create(pk=1, defaults={"last_number": len(completed)})
    ctx.counts["invoice counter (last number)"] = len(completed)


def _invoice(
    ctx: Context,
    rng: random.Random,
    visit: Visit,
    invoice_id: int,
    number: int,
    payment_ids: Iterator[int],
) -> list[models.Model]:
    """The visit's invoice, then its lines, payments and refunds (parents first)."""
    invoice = Invoice(
        id=invoice_id,
        number=number,
        session_id=visit.session_id,
        patient_id=visit.patient.id,
        currency=settings.CLINIC_CURRENCY,
        issued_at=visit.completed_at,
        total=sum((price for _, price in visit.performed), ZERO),
    )
    payments, refunds = _settle(ctx, rng, invoice, payment_ids)
    succeeded = [p.amount for p in payments if p.status == PaymentStatus.SUCCEEDED]
    invoice.amount_paid = sum(succeeded, ZERO)
    invoice.amount_refunded = sum((refund.amount for refund in refunds), ZERO)
    # Every generated refund is money returned, nothing more owed (the default).
    invoice.amount_credited = invoice.credit_for(not_owed_again=invoice.amount_refunded)
    invoice.status = invoice.derived_status()
    lines = [
        InvoiceLine(
            invoice_id=invoice.id,
            service_id=service.model.pk,
            description=service.model.name,
            quantity=1,
            unit_price=price,
        )
        for service, price in visit.performed
    ]
    return [invoice, *lines, *payments, *refunds]


def _settle(
    ctx: Context, rng: random.Random, invoice: Invoice, payment_ids: Iterator[int]
) -> tuple[list[Payment], list[Refund]]:
    """What happened to an invoice: most are paid at the desk or online on the day;
    some later in two goes, some in part, some not yet (more of the recent ones), a
    few refunded or void."""
    payments: list[Payment] = []
    refunds: list[Refund] = []
    total, issued_at = invoice.total, invoice.issued_at

    def pay(amount: Decimal, at: datetime, method: str) -> Payment:
        payment = _payment(ctx, rng, invoice.id, next(payment_ids), amount, at, method)
        payments.append(payment)
        return payment

    age = ctx.now - issued_at
    r = rng.random()
    if r < 0.003 and age > timedelta(days=3):
        _void(ctx, rng, invoice)
        return payments, refunds
    if r < 0.04 or (age < timedelta(days=14) and r < 0.25):
        return payments, refunds  # not paid yet
    methods, weights = zip(*METHODS, strict=True)
    method = rng.choices(methods, weights=weights)[0]
    paid_at = issued_at + timedelta(seconds=rng.randint(60, 15 * 60))
    if method == "stripe" and rng.random() < 0.05:
        _expire(pay(total, paid_at, "stripe"))  # a first link left unpaid
        paid_at += timedelta(hours=rng.randint(1, 48))
    later = paid_at + timedelta(days=rng.randint(1, 30))
    part = max(ONE, (total * Decimal(rng.uniform(0.3, 0.7))).quantize(ONE))
    if r < 0.07 and total > part:  # paid in part, the rest still open
        pay(part, paid_at, method)
    elif r < 0.11 and total > part and later < ctx.now:  # in two goes
        pay(part, paid_at, method)
        pay(total - part, later, rng.choice(methods))
    else:
        payment = pay(total, paid_at, method)
        if rng.random() < 0.01 and later < ctx.now:
            refunds.append(_refund(ctx, rng, payment, later))
    return payments, refunds


def _void(ctx: Context, rng: random.Random, invoice: Invoice) -> None:
    """Voided by the manager within three days of its issue."""
    issued_at = invoice.issued_at
    invoice.voided_at = between(rng, issued_at, issued_at + timedelta(days=3))
    invoice.voided_by_id = ctx.manager_id
    invoice.void_reason = rng.choice(VOID_REASONS)


def _refund(ctx: Context, rng: random.Random, payment: Payment, at: datetime) -> Refund:
    """All or half of a payment given back (through Stripe for a Stripe payment)."""
    total = payment.amount
    return Refund(
        payment_id=payment.id,
        amount=total if rng.random() < 0.4 else (total / 2).quantize(CENT),
        reason=rng.choice(REFUND_REASONS),
        provider_refund_id=f"re_load{payment.id:020d}" if payment.method == "stripe" else "",
        created_at=at,
        created_by_id=ctx.manager_id,
    )


def _expire(payment: Payment) -> None:
    payment.status = PaymentStatus.EXPIRED
    payment.settled_at = None
    payment.payment_intent_id = ""
    payment.last_error = "The checkout expired before it was paid."


def _payment(
    ctx: Context,
    rng: random.Random,
    invoice_id: int,
    payment_id: int,
    amount: Decimal,
    at: datetime,
    method: str,
) -> Payment:
    """A payment that went through: a Stripe one with its checkout, settled within two
    days; one at the desk at once."""
    payment = Payment(
        id=payment_id,
        invoice_id=invoice_id,
        method=method,
        amount=amount,
        status=PaymentStatus.SUCCEEDED,
        created_at=at,
        created_by_id=rng.choice(ctx.reception_ids),
    )
    if method == "stripe":
        payment.idempotency_key = f"checkout-load-{payment_id}"
        payment.checkout_session_id = f"cs_test_load{payment_id:020d}"
        payment.checkout_url = f"https://checkout.stripe.com/c/pay/{payment.checkout_session_id}"
        payment.payment_intent_id = f"pi_load{payment_id:020d}"
        payment.settled_at = min(at + timedelta(seconds=rng.randint(60, 2 * 86400)), ctx.now)
    else:
        payment.idempotency_key = f"desk-load-{payment_id}"
        payment.settled_at = at
    return payment
