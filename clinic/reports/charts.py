"""Bar charts drawn on the server as SVG: the geometry is computed here, so the
template only places shapes (no inline script or style, as the CSP requires)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from clinic.kernel.tables import Table

WIDTH, HEIGHT = 800, 240
LEFT, BOTTOM, TOP = 56, 40, 12
# At most this many labels under the bars; the others are in each bar's tooltip.
MAX_LABELS = 12


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str
    negative: bool


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[Tick]
    scale: list[Tick]
    zero_y: float
    left: int


def bar_chart(table: Table, value_text: Any = str) -> Chart | None:
    """One bar per row of `table`'s chart column (rows without a value are gaps);
    None when there is nothing to draw."""
    if not table.chart_value or not table.rows:
        return None
    values = [_number(row.get(table.chart_value)) for row in table.rows]
    present = [v for v in values if v is not None]
    if not present or all(v == 0 for v in present):
        return None
    top, low = max(max(present), 0.0), min(min(present), 0.0)
    span = (top - low) or 1.0
    plot_height = HEIGHT - BOTTOM - TOP
    step = (WIDTH - LEFT) / len(values)
    gap = step * 0.15 if step > 4 else 0.0
    zero_y = TOP + plot_height * top / span
    bars = []
    for index, (row, value) in enumerate(zip(table.rows, values, strict=True)):
        if value is None:
            continue
        height = plot_height * abs(value) / span
        y = zero_y - height if value >= 0 else zero_y
        bars.append(
            Bar(
                x=round(LEFT + index * step + gap / 2, 2),
                y=round(y, 2),
                width=round(max(step - gap, 0.5), 2),
                height=round(max(height, 0.5), 2),
                label=str(row.get(table.chart_label, "")),
                value=value_text(row.get(table.chart_value)),
                negative=value < 0,
            )
        )
    every = max(1, -(-len(values) // MAX_LABELS))
    labels = [
        Tick(
            x=round(LEFT + index * step + step / 2, 2),
            y=HEIGHT - BOTTOM + 16,
            text=_short(str(row.get(table.chart_label, ""))),
        )
        for index, row in enumerate(table.rows)
        if index % every == 0
    ]
    scale = [
        Tick(x=LEFT - 6, y=round(TOP + 4, 2), text=_figure(top)),
        Tick(x=LEFT - 6, y=round(zero_y + 4, 2), text="0"),
    ]
    if low < 0:
        scale.append(Tick(x=LEFT - 6, y=round(TOP + plot_height + 4, 2), text=_figure(low)))
    return Chart(WIDTH, HEIGHT, bars, labels, scale, round(zero_y, 2), LEFT)


def _number(value: Any) -> float | None:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return float(value)
    return None


def _figure(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.1f}"


def _short(text: str) -> str:
    return text if len(text) <= 14 else text[:13] + "…"
