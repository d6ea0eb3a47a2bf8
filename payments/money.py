"""Amounts: Decimal in the clinic's currency here, integers of the smallest unit
(cents) at Stripe."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

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


def quantum(currency: str) -> Decimal:
    """The smallest amount of the currency: 0.01, or 1 for a zero-decimal one."""
    return Decimal(1).scaleb(-_exponent(currency))


def rounded(amount: Decimal, currency: str) -> Decimal:
    """`amount` to the currency's smallest unit, halves up (a 10% discount of
    80.05 is 8.01), with two decimal places as every amount here has."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP).quantize(Decimal("0.01"))


def is_whole_units(amount: Decimal, currency: str) -> bool:
    """Whether Stripe can take `amount` (no fraction of the smallest unit)."""
    return amount == amount.quantize(quantum(currency))
