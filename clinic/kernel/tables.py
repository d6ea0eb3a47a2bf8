"""The shape every report selector returns: named columns and rows of plain values.

The page's table, its chart and its CSV are all drawn from one `Table`, so the CSV
is exactly the table's rows and no figure is computed in a template."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Type checking only: django-stubs is a development tool.
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class Column:
    key: str
    label: StrOrPromise
    # "text", "int", "money", "percent" (a Decimal such as 12.5 for 12.5 %) or "minutes".
    kind: str = "int"


@dataclass
class Table:
    columns: list[Column]
    rows: list[dict[str, Any]]
    # The column whose values the chart draws, and the column that labels its bars.
    chart_value: str = ""
    chart_label: str = ""
    # A link per row (an invoice's page), by row index; not part of the CSV.
    links: dict[int, str] = field(default_factory=dict)
    # A table the selector gave one page of: which, of how many rows in all.
    total_rows: int | None = None
    page: int | None = None
    per_page: int = 0

    def values(self) -> list[list[Any]]:
        return [[row.get(column.key) for column in self.columns] for row in self.rows]

    def only(self, *keys: str, chart_value: str = "") -> Table:
        """The same rows with only the columns `keys` (in the table's order): one of the
        narrower tables a wide report is shown as, each with its own CSV."""
        return Table(
            columns=[column for column in self.columns if column.key in keys],
            rows=self.rows,
            chart_value=chart_value,
            chart_label=self.chart_label if chart_value else "",
        )


def rate(part: int, whole: int) -> Decimal | None:
    """`part` of `whole` as a percentage with one decimal; None when `whole` is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))
