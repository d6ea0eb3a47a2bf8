"""Amounts: Decimal in the clinic's currency here, integers of the smallest unit
(cents) at Stripe."""

from __future__ import annotations

from decimal import Decimal

# Currencies Stripe counts in whole units (its "zero-decimal currencies").
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA"}
    | {"PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)


def _exponent(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2


def to_minor_units(amount: Decimal, currency: str) -> int:
    minor = amount * 10 ** _exponent(currency)
    if minor != minor.to_integral_value():
        raise ValueError(f"{amount} {currency} is not a whole number of the smallest unit.")
    return int(minor)


def from_minor_units(minor: int, currency: str) -> Decimal:
    return (Decimal(minor) / 10 ** _exponent(currency)).quantize(Decimal("0.01"))
