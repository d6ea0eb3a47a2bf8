"""Vitals over time: the note form's temperature and weight in the clinic's units,
and the chart's table and small trend charts of every visit's vitals. The charts
are SVG drawn on the server (records/partials/trend_chart.html); the table is
their text alternative."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sessions_app.models import Session

from .units import (
    TEMPERATURE_RANGE_C,
    WEIGHT_RANGE_KG,
    Unit,
    temperature_range_message,
    temperature_unit,
    weight_range_message,
    weight_unit,
)


class VitalsInClinicUnits(forms.BaseForm):
    """For a form of a `ClinicalNote`: the temperature and the weight are shown
    and typed in the clinic's units (records.units), checked against the ranges
    in those units, and cleaned into the stored °C and kg. The fields keep the
    stored columns' names (`temperature_c`, `weight_kg`)."""

    instance: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.units = {"temperature_c": temperature_unit(), "weight_kg": weight_unit()}
        shown = {
            "temperature_c": (
                gettext_lazy("Temperature (%(unit)s)"),
                TEMPERATURE_RANGE_C,
                temperature_range_message,
            ),
            "weight_kg": (gettext_lazy("Weight (%(unit)s)"), WEIGHT_RANGE_KG, weight_range_message),
        }
        for name, (label, stored_range, message) in shown.items():
            if name not in self.fields:
                continue
            unit = self.units[name]
            low, high = unit.typed_range(stored_range)
            out_of_range = message(unit)
            self.fields[name] = forms.DecimalField(
                label=str(label) % {"unit": unit.symbol},
                required=False,
                max_digits=5,
                decimal_places=1,
                min_value=low,
                max_value=high,
                disabled=self.fields[name].disabled,
                error_messages={"min_value": out_of_range, "max_value": out_of_range},
            )
            stored = getattr(self.instance, name, None)
            if stored is not None:
                self.initial[name] = unit.from_stored(stored)

    def clean_temperature_c(self) -> Decimal | None:
        return self._stored("temperature_c")

    def clean_weight_kg(self) -> Decimal | None:
        return self._stored("weight_kg")

    def _stored(self, name: str) -> Decimal | None:
        value = self.cleaned_data.get(name)
        return None if value is None else self.units[name].to_stored(value)


@dataclass(frozen=True)
class VisitVitals:
    """One visit's vitals, the temperature and weight in the clinic's units."""

    at: datetime
    bp_systolic: int | None
    bp_diastolic: int | None
    pulse: int | None
    temperature: Decimal | None
    weight: Decimal | None


def visit_vitals(sessions: Sequence[Session]) -> list[VisitVitals]:
    """The vitals of every visit that recorded any, newest first (as `sessions`,
    whose notes are loaded with them: no query here)."""
    temperature, weight = temperature_unit(), weight_unit()
    rows = []
    for session in sessions:
        note = getattr(session, "clinical_note", None)
        if note is None:
            continue
        values = (note.bp_systolic, note.pulse, note.temperature_c, note.weight_kg)
        if all(value is None for value in values):
            continue
        rows.append(
            VisitVitals(
                at=session.appointment.starts_at,
                bp_systolic=note.bp_systolic,
                bp_diastolic=note.bp_diastolic,
                pulse=note.pulse,
                temperature=_shown(temperature, note.temperature_c),
                weight=_shown(weight, note.weight_kg),
            )
        )
    return rows


def _shown(unit: Unit, value: Decimal | None) -> Decimal | None:
    return None if value is None else unit.from_stored(value)


# The trend charts' drawing: a viewBox of WIDTH × HEIGHT, the plot inside the margins.
WIDTH, HEIGHT = 320, 150
LEFT, RIGHT, TOP, BOTTOM = 40, 12, 12, 28


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class Line:
    name: str
    colour: str
    dots: list[Dot]

    @property
    def points(self) -> str:
        return " ".join(f"{dot.x:.1f},{dot.y:.1f}" for dot in self.dots)


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class TrendChart:
    """One small chart: its accessible title and description, its lines, the
    value ticks on the left and the dates of the first and last visits below."""

    slug: str
    title: str
    description: str
    lines: list[Line]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    plot: dict[str, float] = field(
        default_factory=lambda: {
            "left": LEFT,
            "right": WIDTH - RIGHT,
            "top": TOP,
            "bottom": HEIGHT - BOTTOM,
        }
    )


# (name, colour, value of a visit) of each line of a chart.
Series = tuple[str, str, Callable[[VisitVitals], Decimal | int | None]]


def trend_charts(rows: Sequence[VisitVitals]) -> list[TrendChart]:
    """The blood pressure, pulse and weight charts of the visits (`rows`, newest
    first, as `visit_vitals` gives them), oldest on the left; a chart with no value
    at all is left out."""
    visits = list(reversed(rows))
    charts = [
        _chart(
            "blood-pressure",
            _("Blood pressure (mmHg)"),
            visits,
            [
                (_("Systolic"), "#b02a37", lambda row: row.bp_systolic),
                (_("Diastolic"), "#0a58ca", lambda row: row.bp_diastolic),
            ],
        ),
        _chart("pulse", _("Pulse (bpm)"), visits, [(_("Pulse"), "#146c43", lambda row: row.pulse)]),
        _chart(
            "weight",
            _("Weight (%(unit)s)") % {"unit": weight_unit().symbol},
            visits,
            [(_("Weight"), "#6f42c1", lambda row: row.weight)],
        ),
    ]
    return [chart for chart in charts if chart is not None]


def _chart(
    slug: str, title: str, visits: list[VisitVitals], series: list[Series]
) -> TrendChart | None:
    values = [
        Decimal(value)
        for _name, _colour, value_of in series
        for row in visits
        if (value := value_of(row)) is not None
    ]
    if not values:
        return None
    low, high = _bounds(min(values), max(values))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    step = plot_width / (len(visits) - 1) if len(visits) > 1 else 0.0

    def x_of(index: int) -> float:
        return LEFT + (index * step if len(visits) > 1 else plot_width / 2)

    def y_of(value: Decimal) -> float:
        return TOP + float((high - value) / (high - low)) * plot_height

    lines = []
    for name, colour, value_of in series:
        dots = [
            Dot(
                x=x_of(index),
                y=y_of(Decimal(value)),
                label=f"{_day(row.at)}: {name} {formats.localize(value)}",
            )
            for index, row in enumerate(visits)
            if (value := value_of(row)) is not None
        ]
        lines.append(Line(name=name, colour=colour, dots=dots))
    first, last = _day(visits[0].at), _day(visits[-1].at)
    description = _(
        "%(count)d visits from %(first)s to %(last)s; lowest %(low)s, highest %(high)s. "
        "The table of vitals gives every value."
    ) % {
        "count": len(visits),
        "first": first,
        "last": last,
        "low": formats.localize(min(values)),
        "high": formats.localize(max(values)),
    }
    middle = ((low + high) / 2).to_integral_value()
    y_ticks = [Tick(at=y_of(value), label=formats.localize(value)) for value in (high, middle, low)]
    x_ticks = [Tick(at=x_of(0), label=first)]
    if len(visits) > 1:
        x_ticks.append(Tick(at=x_of(len(visits) - 1), label=last))
    return TrendChart(
        slug=slug,
        title=title,
        description=description,
        lines=lines,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
    )


def _bounds(low: Decimal, high: Decimal) -> tuple[Decimal, Decimal]:
    """A value range around the data with some room, in whole numbers."""
    room = max((high - low) / 5, Decimal(2))
    return (low - room).to_integral_value(), (high + room).to_integral_value()


def _day(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "j M Y")
