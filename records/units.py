"""Units of the vitals. One stored unit (°C, kg, to hundredths); the clinic shows
and takes temperatures and weights in the units of its settings
(`CLINIC_TEMPERATURE_UNIT` "C" or "F", `CLINIC_WEIGHT_UNIT` "kg" or "lb"). Every
conversion is here, both ways, and so are the ranges a typed value must lie in,
given in the unit it is typed in."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils.translation import gettext as _

CELSIUS, FAHRENHEIT = "C", "F"
KILOGRAMS, POUNDS = "kg", "lb"
TEMPERATURE_UNITS = (CELSIUS, FAHRENHEIT)
WEIGHT_UNITS = (KILOGRAMS, POUNDS)

POUNDS_PER_KILOGRAM = Decimal("2.20462262185")
HUNDREDTH = Decimal("0.01")
TENTH = Decimal("0.1")

# What the database accepts (records.models.ClinicalNote's check constraints).
TEMPERATURE_RANGE_C = (Decimal("30.0"), Decimal("45.0"))
WEIGHT_RANGE_KG = (Decimal("0.3"), Decimal("500.0"))


def celsius_to_fahrenheit(value: Decimal) -> Decimal:
    return value * 9 / 5 + 32


def fahrenheit_to_celsius(value: Decimal) -> Decimal:
    return (value - 32) * 5 / 9


def kilograms_to_pounds(value: Decimal) -> Decimal:
    return value * POUNDS_PER_KILOGRAM


def pounds_to_kilograms(value: Decimal) -> Decimal:
    return value / POUNDS_PER_KILOGRAM


# Each shown unit but the stored ones: (from stored, to stored).
CONVERSIONS = {
    FAHRENHEIT: (celsius_to_fahrenheit, fahrenheit_to_celsius),
    POUNDS: (kilograms_to_pounds, pounds_to_kilograms),
}


@dataclass(frozen=True)
class Unit:
    """A unit vitals are shown and typed in: its symbol, and how a value goes to
    and from the stored unit."""

    code: str
    symbol: str

    def to_stored(self, value: Decimal) -> Decimal:
        """A typed value in the stored unit, to hundredths (what the column keeps)."""
        if self.code in CONVERSIONS:
            value = CONVERSIONS[self.code][1](value)
        return value.quantize(HUNDREDTH, rounding=ROUND_HALF_UP)

    def from_stored(self, value: Decimal) -> Decimal:
        """A stored value in this unit, to a tenth (as it is shown and typed)."""
        return self.exact(value).quantize(TENTH, rounding=ROUND_HALF_UP)

    def exact(self, value: Decimal) -> Decimal:
        """A stored value in this unit, unrounded."""
        return CONVERSIONS[self.code][0](value) if self.code in CONVERSIONS else value

    def typed_range(self, stored_range: tuple[Decimal, Decimal]) -> tuple[Decimal, Decimal]:
        """The stored range in this unit, to a tenth and rounded inwards, so that any
        value typed inside it is stored inside the stored range."""
        low, high = (self.exact(value) for value in stored_range)
        return (_to_tenth(low, math.ceil), _to_tenth(high, math.floor))


def _to_tenth(value: Decimal, rounding: Callable[[Decimal], int]) -> Decimal:
    return (Decimal(rounding(value * 10)) / 10).quantize(TENTH)


def temperature_unit() -> Unit:
    code = settings.CLINIC_TEMPERATURE_UNIT
    return Unit(code=code, symbol="°F" if code == FAHRENHEIT else "°C")


def weight_unit() -> Unit:
    code = settings.CLINIC_WEIGHT_UNIT
    return Unit(code=code, symbol=code)


def temperature_range_message(unit: Unit) -> str:
    low, high = unit.typed_range(TEMPERATURE_RANGE_C)
    return _("The temperature must be between %(low)s and %(high)s %(unit)s.") % {
        "low": low,
        "high": high,
        "unit": unit.symbol,
    }


def weight_range_message(unit: Unit) -> str:
    low, high = unit.typed_range(WEIGHT_RANGE_KG)
    return _("The weight must be between %(low)s and %(high)s %(unit)s.") % {
        "low": low,
        "high": high,
        "unit": unit.symbol,
    }
