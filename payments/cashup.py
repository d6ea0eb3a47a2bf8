"""The daily cash-up's rules: what a desk user took on a clinic day, closing the
day, and the closed-day rule.

A closed day cannot change: a desk payment or a refund recorded by a desk user
whose cash-up for today is closed is refused (the money was counted and handed
over; another desk user, or the next day, takes it). Clinics reconcile the drawer
against the day's receipts, so moving a late payment silently to the next day
would make that day's count wrong instead. Payments and the close lock the same
row, so a payment is either in the count or refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from clinic.kernel.dates import clinic_zone
from clinic.kernel.periods import Period
from clinic.kernel.users import User

from .exceptions import PaymentError
from .methods import all_methods
from .models import ZERO, CashUp, Payment, PaymentStatus, Refund

CASH = "cash"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Taken:
    method: str
    label: str
    payments: Decimal
    refunds: Decimal

    @property
    def net(self) -> Decimal:
        return self.payments - self.refunds


def taken_on(*, day: date, desk_user: User) -> list[Taken]:
    """What `desk_user` took at the desk on `day` (a clinic day), by method: the
    payments they recorded that went through, and the refunds they recorded. Two
    grouped queries."""
    period = Period(day, day)
    desk = [key for key, method in all_methods().items() if method.at_desk]
    paid = dict(
        Payment.objects.filter(
            created_by=desk_user,
            method__in=desk,
            status=PaymentStatus.SUCCEEDED,
            settled_at__gte=period.starts_at,
            settled_at__lt=period.ends_at,
        )
        .values("method")
        .annotate(total=Sum("amount"))
        .values_list("method", "total")
    )
    refunded = dict(
        Refund.objects.filter(
            created_by=desk_user,
            payment__method__in=desk,
            created_at__gte=period.starts_at,
            created_at__lt=period.ends_at,
        )
        .values("payment__method")
        .annotate(total=Sum("amount"))
        .values_list("payment__method", "total")
    )
    methods = all_methods()
    return [
        Taken(key, str(methods[key].label), _cents(paid.get(key)), _cents(refunded.get(key)))
        for key in desk
        if key in paid or key in refunded or key == CASH
    ]


def _cents(amount: Decimal | None) -> Decimal:
    return (amount or ZERO).quantize(CENT)


def _row(day: date, desk_user: User) -> CashUp:
    """The day's cash-up row of `desk_user`, made if needed and locked."""
    row, _created = CashUp.objects.get_or_create(day=day, desk_user=desk_user)
    return CashUp.objects.select_for_update().get(pk=row.pk)


def refuse_if_closed(*, desk_user: User | None, moment: datetime | None = None) -> None:
    """Called by the desk payment and refund services inside their transaction:
    refuses money taken by a desk user whose cash-up of that day is closed, and
    otherwise holds the day's row until the payment commits."""
    if desk_user is None:
        return
    day = (moment or timezone.now()).astimezone(clinic_zone()).date()
    row = _row(day, desk_user)
    if row.is_closed:
        raise PaymentError(
            _(
                "The cash-up of %(user)s for %(day)s was closed at %(time)s: no more money is "
                "taken or given back on it. Ask another desk user or a manager."
            )
            % {
                "user": desk_user.get_full_name() or desk_user.get_username(),
                "day": date_format(day, "D j M"),
                "time": timezone.localtime(row.closed_at).strftime("%H:%M")
                if row.closed_at
                else "",
            }
        )


def close_cash_up(
    *, day: date, desk_user: User, counted_cash: Decimal, note: str, by: User
) -> CashUp:
    """Close `desk_user`'s cash-up of `day`: keeps what the payments say was taken
    by method, the cash counted, the difference (counted less the cash expected)
    and the note, with who closed it and when. A desk user closes their own; a
    user with `close_any_cash_up` (managers) anyone's. Closed once, never again."""
    if by.pk != desk_user.pk and not by.has_perm("payments.close_any_cash_up"):
        raise PaymentError(_("You can close only your own cash-up."))
    if counted_cash < 0:
        raise PaymentError(_("The cash counted cannot be negative."))
    if day > timezone.localdate():
        raise PaymentError(_("A day still to come cannot be closed."))
    with transaction.atomic():
        row = _row(day, desk_user)
        if row.is_closed:
            raise PaymentError(_("This cash-up is closed already."))
        taken = taken_on(day=day, desk_user=desk_user)
        cash = next((item.net for item in taken if item.method == CASH), ZERO)
        row.taken = {item.method: str(item.net) for item in taken}
        row.cash_expected = cash
        row.counted_cash = counted_cash
        row.difference = counted_cash - cash
        row.note = note.strip()
        row.closed_at = timezone.now()
        row.closed_by = by
        row.save()
    return row


def cash_up_of(*, day: date, desk_user: User) -> CashUp | None:
    return CashUp.objects.select_related("closed_by").filter(day=day, desk_user=desk_user).first()


def desk_users_on(day: date) -> list[User]:
    """The users with a cash-up row that day (they took or refunded money, or closed)."""
    return [row.desk_user for row in CashUp.objects.filter(day=day).select_related("desk_user")]
