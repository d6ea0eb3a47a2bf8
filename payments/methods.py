"""Payment methods: a registry of small classes, so another method is one class and
one entry in settings.PAYMENT_METHODS."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from . import stripe_gateway
from .models import Payment


class PaymentMethod:
    key = ""
    #: In the language of the page or text it is shown on (a lazy translation).
    label: str | Promise = ""
    #: Taken at the desk and recorded by staff: the payment succeeds when recorded.
    at_desk = True

    def is_available(self) -> bool:
        return True

    def refund(self, payment: Payment, amount: Decimal, *, idempotency_key: str) -> str:
        """Give `amount` back; returns the provider's refund id ("" when the money is
        handed back by staff and only recorded here)."""
        return ""


class Cash(PaymentMethod):
    key = "cash"
    label = _("Cash")


class CardTerminal(PaymentMethod):
    key = "card_terminal"
    label = _("Card terminal")


class StripeCheckout(PaymentMethod):
    key = "stripe"
    label = _("Online (Stripe)")
    at_desk = False

    def is_available(self) -> bool:
        return stripe_gateway.is_configured()

    def refund(self, payment: Payment, amount: Decimal, *, idempotency_key: str) -> str:
        return stripe_gateway.create_refund(payment, amount, idempotency_key=idempotency_key)


def all_methods() -> dict[str, PaymentMethod]:
    methods = (import_string(path)() for path in settings.PAYMENT_METHODS)
    return {method.key: method for method in methods}


def get_method(key: str) -> PaymentMethod:
    return all_methods()[key]


def desk_methods() -> list[PaymentMethod]:
    return [method for method in all_methods().values() if method.at_desk]
