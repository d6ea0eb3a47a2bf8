"""Discounts and write-offs at the desk, and their reversal.

A discount lowers the bill (an amount, or a percentage of the invoice's services,
with a reason); a write-off is what is left of the balance that the clinic will
not collect. Reception stays within the manager's limits (BillingLimits, per
invoice, all its discounts or write-offs together); a manager (the
`adjust_beyond_limits` permission) has none. Each is an audit row that is never
changed: a mistake is undone by a reversal row. Every one of them changes what is
owed, so the online checkouts offered for the old balance are closed first, as a
desk payment does; `refresh_totals` then derives the totals and status.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from clinic.kernel.users import User

from .exceptions import PaymentError
from .models import (
    AdjustmentKind,
    BillingLimits,
    Dispute,
    DisputeStatus,
    Invoice,
    InvoiceAdjustment,
)
from .money import is_whole_units, quantum, rounded
from .services import _close_open_checkouts, _lock
from .totals import refresh_totals

HUNDRED = Decimal("100")
REASON_LENGTH = 300
# A dispute in these still takes the money and may give it back.
OPEN_DISPUTE = (DisputeStatus.NEEDS_RESPONSE, DisputeStatus.UNDER_REVIEW)
BEYOND_LIMITS = "payments.adjust_beyond_limits"


class AdjustmentError(PaymentError):
    """A discount, write-off or reversal the rules do not allow."""

    code = "adjustment"


class OverLimit(AdjustmentError):
    """More than reception may give without a manager."""

    code = "over_limit"


def may_exceed_limits(user: User) -> bool:
    """Managers discount and write off without limit."""
    return user.has_perm(BEYOND_LIMITS)


def give_discount(
    *,
    invoice: Invoice,
    reason: str,
    by: User,
    amount: Decimal | None = None,
    percent: Decimal | None = None,
    idempotency_key: str = "",
) -> InvoiceAdjustment:
    """Take `amount`, or `percent` of the invoice's services, off an invoice that
    still has something due. Refused: on a void invoice, one with nothing due (paid,
    refunded, written off), or one whose card dispute is still open; a discount
    that would make the total negative or be more than the balance (to give money
    back, refund a payment); and, for reception, discounts beyond the manager's
    percentage of the services in all. The same form twice adds one discount."""
    reason = _reason(reason)
    if (amount is None) == (percent is None):
        raise AdjustmentError(_("Give the discount as an amount or as a percentage."))
    if percent is not None:
        _check_percent(percent)
    with transaction.atomic():
        current = _lock(invoice)
        if already := _made_with(idempotency_key, current):
            return already
        _check_adjustable(current, nothing_due=_NO_DISCOUNT)
        if amount is None:
            assert percent is not None
            amount = rounded(current.subtotal * percent / HUNDRED, current.currency)
        _check_discount_fits(current, amount)
        _check_discount_limit(current, amount, by)
        return _make(
            current,
            kind=AdjustmentKind.DISCOUNT,
            amount=amount,
            percent=percent,
            reason=reason,
            by=by,
            idempotency_key=idempotency_key,
        )


def write_off(
    *,
    invoice: Invoice,
    reason: str,
    by: User,
    amount: Decimal | None = None,
    idempotency_key: str = "",
) -> InvoiceAdjustment:
    """Settle `amount` of the balance (all of it by default) without money: the
    clinic will not collect it. Refused like a discount, and when it is more than
    the balance; for reception, beyond the manager's amount per invoice in all."""
    reason = _reason(reason)
    with transaction.atomic():
        current = _lock(invoice)
        if already := _made_with(idempotency_key, current):
            return already
        _check_adjustable(current, nothing_due=_NO_WRITE_OFF)
        amount = current.balance if amount is None else amount
        _check_amount(current, amount)
        if amount > current.balance:
            raise AdjustmentError(
                _("At most the balance, %(balance)s, can be written off.")
                % {"balance": _money(current, current.balance)}
            )
        _check_write_off_limit(current, amount, by)
        return _make(
            current,
            kind=AdjustmentKind.WRITE_OFF,
            amount=amount,
            percent=None,
            reason=reason,
            by=by,
            idempotency_key=idempotency_key,
        )


def reverse_adjustment(
    *, adjustment: InvoiceAdjustment, reason: str, by: User
) -> InvoiceAdjustment:
    """Undo a discount or write-off by a reversal row (the original stays, marked
    reversed): what it took off is owed again. Once per adjustment; a reversal is
    not reversed (give the discount again instead); not on a void invoice."""
    reason = _reason(reason)
    with transaction.atomic():
        current = _lock(adjustment.invoice)
        original = InvoiceAdjustment.objects.get(pk=adjustment.pk)
        if current.is_void:
            raise AdjustmentError(_("The invoice is void: its bill no longer changes."))
        if original.is_reversal:
            raise AdjustmentError(_("A reversal is not reversed; make the adjustment again."))
        if original.reversals.exists():
            raise AdjustmentError(_("This adjustment is reversed already."))
        return _make(
            current,
            kind=original.kind,
            amount=original.amount,
            percent=original.percent,
            reason=reason,
            by=by,
            reverses=original,
        )


# --- The rules ------------------------------------------------------------------------

_NO_DISCOUNT = "discount"
_NO_WRITE_OFF = "write_off"


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise AdjustmentError(_("Say why."))
    if len(reason) > REASON_LENGTH:
        raise AdjustmentError(
            _("Say why in at most %(count)d characters.") % {"count": REASON_LENGTH}
        )
    return reason


def _check_percent(percent: Decimal) -> None:
    try:
        in_range = Decimal(0) < percent <= HUNDRED and percent == round(percent, 2)
    except InvalidOperation:
        in_range = False
    if not in_range:
        raise AdjustmentError(_("A percentage is more than 0 and at most 100."))


def _check_amount(invoice: Invoice, amount: Decimal) -> None:
    if amount <= 0:
        raise AdjustmentError(_("The amount must be more than zero."))
    if not is_whole_units(amount, invoice.currency):
        raise AdjustmentError(
            _("%(currency)s has no smaller unit than %(unit)s.")
            % {"currency": invoice.currency, "unit": quantum(invoice.currency)}
        )


def _check_discount_fits(invoice: Invoice, amount: Decimal) -> None:
    """Never a negative total, never more than is still due."""
    _check_amount(invoice, amount)
    if amount > invoice.total:
        raise AdjustmentError(
            _("A discount of %(amount)s would make the total negative (it is %(total)s).")
            % {"amount": _money(invoice, amount), "total": _money(invoice, invoice.total)}
        )
    if amount > invoice.balance:
        raise AdjustmentError(
            _(
                "A discount of %(amount)s is more than the %(balance)s still due; "
                "to give money back, refund a payment."
            )
            % {"amount": _money(invoice, amount), "balance": _money(invoice, invoice.balance)}
        )


def _check_adjustable(invoice: Invoice, *, nothing_due: str) -> None:
    if invoice.is_void:
        raise AdjustmentError(_("The invoice is void: it takes no discount or write-off."))
    disputed = Dispute.objects.filter(payment__invoice=invoice, status__in=OPEN_DISPUTE)
    if disputed.exists():
        raise AdjustmentError(
            _(
                "A card dispute on this invoice is still open: wait for Stripe's "
                "decision before changing the bill."
            )
        )
    if invoice.balance > 0:
        return
    if nothing_due == _NO_DISCOUNT:
        raise AdjustmentError(
            _(
                "Nothing is due on this invoice: a discount would only leave money to "
                "give back. To give money back, refund a payment."
            )
        )
    raise AdjustmentError(_("Nothing is due on this invoice: there is nothing to write off."))


def _check_discount_limit(invoice: Invoice, amount: Decimal, by: User) -> None:
    if may_exceed_limits(by):
        return
    percent = BillingLimits.current().reception_max_discount_percent
    allowed = rounded(invoice.subtotal * percent / HUNDRED, invoice.currency)
    if invoice.amount_discounted + amount > allowed:
        raise OverLimit(
            _(
                "Reception may discount at most %(percent)s%% of this invoice's services "
                "(%(allowed)s in all; %(given)s given already). A manager can give more."
            )
            % {
                "percent": percent_text(percent),
                "allowed": _money(invoice, allowed),
                "given": _money(invoice, invoice.amount_discounted),
            }
        )


def _check_write_off_limit(invoice: Invoice, amount: Decimal, by: User) -> None:
    if may_exceed_limits(by):
        return
    allowed = BillingLimits.current().reception_max_write_off
    if invoice.amount_written_off + amount > allowed:
        raise OverLimit(
            _(
                "Reception may write off at most %(allowed)s of an invoice "
                "(%(done)s written off already). A manager can write off more."
            )
            % {
                "allowed": _money(invoice, allowed),
                "done": _money(invoice, invoice.amount_written_off),
            }
        )


def _made_with(idempotency_key: str, invoice: Invoice) -> InvoiceAdjustment | None:
    """The adjustment this form made already (a double click), if any."""
    if not idempotency_key:
        return None
    already = InvoiceAdjustment.objects.filter(idempotency_key=idempotency_key).first()
    if already is not None and already.invoice_id != invoice.pk:
        raise AdjustmentError(_("This form was already used; open the invoice again."))
    return already


def _make(
    invoice: Invoice,
    *,
    kind: str,
    amount: Decimal,
    percent: Decimal | None,
    reason: str,
    by: User,
    idempotency_key: str = "",
    reverses: InvoiceAdjustment | None = None,
) -> InvoiceAdjustment:
    # What was offered online is for the old balance: closed before the bill changes.
    _close_open_checkouts(invoice)
    adjustment = InvoiceAdjustment.objects.create(
        invoice=invoice,
        kind=kind,
        amount=amount,
        percent=percent,
        reason=reason,
        reverses=reverses,
        idempotency_key=idempotency_key,
        created_by=by,
    )
    refresh_totals(invoice)
    return adjustment


def _money(invoice: Invoice, amount: Decimal) -> str:
    return f"{amount} {invoice.currency}"


def percent_text(percent: Decimal) -> str:
    """10.00 as "10", 12.50 as "12.5"."""
    return f"{percent.normalize():f}"


@dataclass(frozen=True)
class Limits:
    """What `user` may discount (a percentage of an invoice's services) and write
    off (an amount per invoice), all together; None for no limit."""

    discount_percent: Decimal | None
    write_off: Decimal | None

    @property
    def discount_percent_text(self) -> str:
        return "" if self.discount_percent is None else percent_text(self.discount_percent)


def limits_for(user: User) -> Limits:
    """The limits the rules above apply to `user`, to show them on the page."""
    if may_exceed_limits(user):
        return Limits(discount_percent=None, write_off=None)
    limits = BillingLimits.current()
    return Limits(
        discount_percent=limits.reception_max_discount_percent,
        write_off=limits.reception_max_write_off,
    )
