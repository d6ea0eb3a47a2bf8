"""Use cases of payments: open an invoice from a completed session, take payments
at the desk or online, refund, void, and apply what Stripe reports.

Every change locks the invoice row, writes payments or refunds, and then
`refresh_totals` (payments/totals.py) derives the invoice's totals and status:
nothing else sets them. Discounts and write-offs are in adjustment_services.py.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.kernel.users import User
from notifications.messages import appointment_context
from notifications.models import Channel, Notification
from notifications.services import queue_message
from sessions_app.models import Session

from . import stripe_gateway
from .cashup import refuse_if_closed
from .exceptions import PaymentError, ProviderUnavailable
from .methods import StripeCheckout, all_methods, get_method
from .models import (
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Payment,
    PaymentStatus,
    Refund,
)
from .totals import refresh_totals

logger = logging.getLogger(__name__)

PAY_LINK_SALT = "payments.pay-link"
ONLINE = StripeCheckout()


# --- Invoices ---------------------------------------------------------------------


def open_invoice(*, session: Session) -> Invoice:
    """The invoice of a completed session, with a line per performed service at the
    price it was performed at. Idempotent: a session has one invoice."""
    with transaction.atomic():
        existing = Invoice.objects.filter(session=session).first()
        if existing is not None:
            return existing
        invoice = Invoice.objects.create(
            number=_next_invoice_number(),
            session=session,
            patient=session.patient,
            currency=settings.CLINIC_CURRENCY,
            issued_at=timezone.now(),
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                service=performed.service,
                description=performed.service.name,
                quantity=performed.quantity,
                unit_price=performed.unit_price,
            )
            for performed in session.performed.select_related("service")
        )
        refresh_totals(invoice)
        thank_patient(invoice)
    return invoice


def _next_invoice_number() -> int:
    """The next number, under a lock on the counter row: concurrent invoices wait
    for each other, and a rolled-back invoice gives its number back."""
    counter, _ = InvoiceCounter.objects.select_for_update().get_or_create(pk=1)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def void_invoice(*, invoice: Invoice, reason: str, by: User | None) -> Invoice:
    """Cancel an invoice nobody has paid anything on; its open online checkouts
    are closed first, so no one can pay it after."""
    reason = reason.strip()
    if not reason:
        raise PaymentError(_("Say why the invoice is void."))
    with transaction.atomic():
        current = _lock(invoice)
        if current.is_void:
            raise PaymentError(_("The invoice is void already."))
        if not current.can_void:
            raise PaymentError(_("Only an unpaid invoice can be void; refund its payments first."))
        _close_open_checkouts(current, must_close=True)
        current.voided_at = timezone.now()
        current.voided_by = by
        current.void_reason = reason
        current.save(update_fields=["voided_at", "voided_by", "void_reason"])
        return refresh_totals(current)


def _lock(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


def _check_payable(invoice: Invoice, amount: Decimal) -> None:
    if invoice.is_void:
        raise PaymentError(_("The invoice is void: it takes no payments."))
    if amount <= 0:
        raise PaymentError(_("A payment must be more than zero."))
    if amount > invoice.balance:
        raise PaymentError(
            f"The balance is {invoice.balance} {invoice.currency}; "
            f"a payment of {amount} would be more than that."
        )


# --- Payments at the desk ---------------------------------------------------------


def new_payment_token() -> str:
    """A one-time token for a payment form: submitting it twice records one payment."""
    return f"desk-{uuid.uuid4()}"


def record_desk_payment(
    *,
    invoice: Invoice,
    method: str,
    amount: Decimal,
    idempotency_key: str,
    by: User | None,
) -> Payment:
    """Money taken at the desk (cash, card terminal). The same token twice (a double
    click, a resent form) returns the payment made the first time."""
    payment_method = get_method(method)
    if not payment_method.at_desk:
        raise PaymentError(
            _("%(method)s payments are not taken at the desk.") % {"method": payment_method.label}
        )
    with transaction.atomic():
        current = _lock(invoice)
        already = Payment.objects.filter(idempotency_key=idempotency_key).first()
        if already is not None:
            if already.invoice_id != current.pk:
                raise PaymentError(_("This payment form was already used; open the invoice again."))
            return already
        # A closed cash-up takes no more money (payments/cashup.py).
        refuse_if_closed(desk_user=by)
        _check_payable(current, amount)
        # Whatever was offered online is for the old balance: close it first, so the
        # patient cannot pay twice.
        _close_open_checkouts(current)
        payment = Payment.objects.create(
            invoice=current,
            method=method,
            amount=amount,
            status=PaymentStatus.SUCCEEDED,
            idempotency_key=idempotency_key,
            created_by=by,
            settled_at=timezone.now(),
        )
        refresh_totals(current)
    return payment


# --- Online payment (Stripe Checkout) ---------------------------------------------


def start_online_payment(*, invoice: Invoice, by: User | None, base_url: str) -> Payment:
    """A Stripe Checkout for the balance. An open checkout for the same amount is
    reused rather than a second one made. `base_url` is the site's address for
    Stripe's success and cancel pages."""
    if not online_payment_available():
        raise PaymentError(_("Online payment is not set up (no Stripe keys)."))
    with transaction.atomic():
        current = _lock(invoice)
        if current.balance <= 0:
            raise PaymentError(_("Nothing is due on this invoice."))
        _check_payable(current, current.balance)
        reusable = current.payments.filter(
            method="stripe", status=PaymentStatus.PENDING, amount=current.balance
        ).exclude(checkout_url="")
        if payment := reusable.first():
            return payment
        payment = Payment.objects.create(
            invoice=current,
            method="stripe",
            amount=current.balance,
            idempotency_key=f"checkout-{uuid.uuid4()}",
            created_by=by,
        )
    # Outside the lock: Stripe's answer can take a while, and the idempotency key
    # makes a retry of this call return the same checkout.
    try:
        checkout = stripe_gateway.create_checkout_session(
            payment,
            # Stripe puts the checkout's id in place of {CHECKOUT_SESSION_ID}.
            success_url=base_url
            + reverse("payments:checkout_done")
            + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=base_url + reverse("payments:pay", args=[pay_link_token(invoice)]),
        )
    except ProviderUnavailable as error:
        # Nobody has a link to this payment: close it, so it is not left pending.
        close_online_payment(payment=payment, status=PaymentStatus.FAILED, reason=error.message)
        raise
    # Only onto a payment still pending: a desk payment or a void may have closed it
    # while Stripe answered, and then this checkout must not stay payable.
    saved = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
        checkout_session_id=checkout.id, checkout_url=checkout.url
    )
    if not saved:
        stripe_gateway.expire_checkout_session(checkout.id)
        raise PaymentError(_("The invoice changed meanwhile; open it again."))
    payment.refresh_from_db()
    return payment


def online_payment_available() -> bool:
    """Stripe Checkout is enabled (PAYMENT_METHODS) and has its keys: the one test
    the pages, the patient's texts and the services use."""
    method = all_methods().get(ONLINE.key)
    return method is not None and method.is_available()


def _close_open_checkouts(invoice: Invoice, *, must_close: bool = False) -> None:
    """Expire the invoice's pending Stripe checkouts, at Stripe and here, before
    money is taken another way.

    A checkout the patient has completed (paid, or a bank debit on its way) is not
    expired: the desk is told to wait for it. When Stripe cannot be reached the
    checkout stays pending and the desk goes on: the clinic can always take cash,
    and should the patient pay online too, the webhook or the reconciliation
    records it and the invoice shows the overpayment to refund. With `must_close`
    (voiding, after which nothing should be paid) an unreachable Stripe refuses."""
    for payment in invoice.payments.filter(method="stripe", status=PaymentStatus.PENDING):
        if payment.checkout_session_id and stripe_gateway.is_configured():
            try:
                checkout = stripe_gateway.retrieve_checkout_session(payment.checkout_session_id)
                if checkout.status == "open":
                    checkout = stripe_gateway.expire_checkout_session(payment.checkout_session_id)
            except ProviderUnavailable:
                if must_close:
                    raise
                logger.warning("Could not expire the checkout of payment %s", payment.pk)
                continue
            if checkout.status == "complete":
                raise PaymentError(
                    "The patient has just paid this invoice online; reload the invoice "
                    "before taking money at the desk."
                )
        payment.status = PaymentStatus.EXPIRED
        payment.save(update_fields=["status"])


def pay_link_token(invoice: Invoice) -> str:
    return signing.dumps(invoice.pk, salt=PAY_LINK_SALT)


def invoice_from_pay_link(token: str) -> Invoice | None:
    """The invoice a patient's pay link names, or None for a forged or old link."""
    try:
        invoice_id = signing.loads(
            token, salt=PAY_LINK_SALT, max_age=settings.PAYMENTS_PAY_LINK_DAYS * 86400
        )
    except signing.BadSignature:
        return None
    return Invoice.objects.filter(pk=invoice_id).first()


def pay_link_url(invoice: Invoice) -> str:
    """The patient's link to pay the invoice online, or "" without a public address."""
    if not settings.PUBLIC_BASE_URL:
        return ""
    return settings.PUBLIC_BASE_URL + reverse("payments:pay", args=[pay_link_token(invoice)])


def send_payment_link(*, invoice: Invoice, by: User | None) -> Notification:
    """Text the patient the link to pay the balance online, through the outbox."""
    if not online_payment_available():
        raise PaymentError(_("Online payment is not set up (no Stripe keys)."))
    url = pay_link_url(invoice)
    if not url:
        raise PaymentError(_("Set PUBLIC_BASE_URL to send payment links."))
    if invoice.balance <= 0:
        raise PaymentError(_("Nothing is due on this invoice."))
    return queue_message(
        # One text a day for a given balance: a double click sends one.
        key=f"payment_link:{invoice.pk}:{invoice.balance}:{timezone.localdate()}",
        template="payment_link",
        channel="sms",
        patient=invoice.patient,
        session=invoice.session,
        context={
            "patient_first_name": invoice.patient.given_name,
            "amount": f"{invoice.balance} {invoice.currency}",
            "payment_url": url,
        },
    )


def thank_patient(invoice: Invoice) -> Notification:
    """The patient's text after the visit (its invoice opens when the session
    completes), through the outbox, with the link to pay online when something is due
    and online payment is set up."""
    session = invoice.session
    due = invoice.balance > 0 and online_payment_available()
    return queue_message(
        key=f"session_completed:{session.pk}",
        template="session_completed",
        channel=Channel.SMS,
        patient=invoice.patient,
        appointment=session.appointment,
        context={
            **appointment_context(session.appointment),
            "payment_url": pay_link_url(invoice) if due else "",
        },
    )


# --- What Stripe reports (webhooks and reconciliation) ----------------------------


def settle_online_payment(*, payment: Payment, payment_intent_id: str = "") -> bool:
    """Stripe says the money is in. Credits the invoice once, whatever came before
    (pending, or expired/failed reported out of order). Returns whether it changed."""
    with transaction.atomic():
        invoice = _lock(payment.invoice)
        current = Payment.objects.select_for_update().get(pk=payment.pk)
        if current.status == PaymentStatus.SUCCEEDED:
            return False
        current.status = PaymentStatus.SUCCEEDED
        current.settled_at = timezone.now()
        current.payment_intent_id = payment_intent_id or current.payment_intent_id
        current.last_error = ""
        current.save(update_fields=["status", "settled_at", "payment_intent_id", "last_error"])
        refresh_totals(invoice)
    logger.info("Online payment %s settled", current.pk)
    return True


def close_online_payment(*, payment: Payment, status: str, reason: str = "") -> bool:
    """Stripe says the checkout ended without money (expired or failed). Never undoes
    a payment that succeeded. Returns whether it changed."""
    changed = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
        status=status, last_error=reason[:500]
    )
    return bool(changed)


def remember_payment_intent(*, payment: Payment, payment_intent_id: str) -> bool:
    """Note the Stripe payment intent that pays an online payment, when the payment
    has none yet: the intent's charges, refunds and disputes name only the intent.
    Returns whether it was new."""
    if not payment_intent_id:
        return False
    remembered = Payment.objects.filter(
        pk=payment.pk, method=ONLINE.key, payment_intent_id=""
    ).update(payment_intent_id=payment_intent_id)
    return bool(remembered)


def note_online_payment_error(*, payment: Payment, reason: str) -> None:
    """A card was declined: the checkout stays open for another try; staff see why."""
    Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
        last_error=reason[:500]
    )


# --- Refunds ------------------------------------------------------------------------


def refund_payment(
    *,
    payment: Payment,
    amount: Decimal,
    reason: str,
    by: User | None,
    owed_again: bool = False,
    idempotency_key: str = "",
) -> Refund:
    """Give money back on a payment: through Stripe for an online payment, recorded
    for the others. Never more than what is left of the payment. The same
    `idempotency_key` twice (a double click on the refund form) returns the refund
    made the first time, and Stripe is asked under that key, so it refunds once.

    A refund is money returned: the patient owes that much less, so the balance does
    not grow back (`owed_again` False, the desk's default). Refund and re-bill
    (`owed_again`) gives the money back and bills it again: the balance grows by it,
    so the online checkouts offered for the old balance are closed first, before
    any money moves."""
    reason = reason.strip()
    if not reason:
        raise PaymentError(_("Say why the money is refunded."))
    if amount <= 0:
        raise PaymentError(_("A refund must be more than zero."))
    with transaction.atomic():
        invoice = _lock(payment.invoice)
        if idempotency_key:
            already = Refund.objects.filter(idempotency_key=idempotency_key).first()
            if already is not None:
                if already.payment_id != payment.pk:
                    raise PaymentError(
                        _("This refund form was already used; open the invoice again.")
                    )
                return already
        current = Payment.objects.prefetch_related("refunds").get(pk=payment.pk)
        if current.status != PaymentStatus.SUCCEEDED:
            raise PaymentError(_("Only a payment that went through can be refunded."))
        if amount > current.refundable:
            raise PaymentError(
                f"At most {current.refundable} {invoice.currency} of this payment can be refunded."
            )
        method = all_methods().get(current.method)
        if method is None:
            raise PaymentError(
                f"Payments by {current.method} are no longer taken here; refund it by hand."
            )
        if method.at_desk:
            refuse_if_closed(desk_user=by)
        if owed_again:
            _close_open_checkouts(invoice)
        refund = Refund.objects.create(
            payment=current,
            amount=amount,
            reason=reason,
            created_by=by,
            owed_again=owed_again,
            idempotency_key=idempotency_key,
        )
        # Inside the transaction: if Stripe refuses, nothing is recorded. The library
        # retries a lost call with the same key, so Stripe refunds once.
        refund.provider_refund_id = method.refund(
            current, amount, idempotency_key=f"refund-{idempotency_key or uuid.uuid4()}"
        )
        refund.save(update_fields=["provider_refund_id"])
        refresh_totals(invoice)
    return refund
