"""The report pages in Django admin, for managers only: a form, a chart, a table,
and the same rows as CSV."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.kernel.roles import MANAGERS
from clinic.kernel.tables import Column, Table

from .charts import bar_chart
from .forms import ReportForm
from .pages import REPORTS


def is_manager(user: Any) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.groups.filter(name=MANAGERS).exists())
    )


def managers_only(view: Any) -> Any:
    """Inside admin (staff sign-in) and for managers only: reception and doctors
    get the clinic's 403 page."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_manager(request.user):
            raise PermissionDenied(_("The reports are for the clinic's managers."))
        return view(request, *args, **kwargs)

    return admin.site.admin_view(checked)


def cell_text(column: Column, value: Any) -> str:
    """How a value reads in the table and in the CSV: the same text in both."""
    if value is None:
        return ""
    if column.kind == "money":
        return f"{Decimal(value):.2f}"
    if column.kind == "invoices":
        return " ".join(number for number, _url in value)
    return str(value)


# A spreadsheet reads a cell starting with one of these as a formula (or, for tab
# and carriage return, strips them and reads what follows as one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(column: Column, value: Any) -> str:
    """A cell's text in the CSV: the table's, with a `'` before a text cell that a
    spreadsheet would run as a formula (a patient named "=HYPERLINK(...)"). Numbers,
    negative amounts among them, stay numbers."""
    text = cell_text(column, value)
    if (
        column.kind in ("text", "invoices")
        and not isinstance(value, int | float | Decimal)
        and text.startswith(FORMULA_STARTS)
    ):
        return "'" + text
    return text


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool
    links: list[tuple[str, str]]


# A table longer than this shows in pages (its CSV has every row).
PAGE_ROWS = 200


def table_cells(table: Table, rows: list[dict[str, Any]] | None = None) -> list[list[Cell]]:
    return [
        [
            Cell(
                cell_text(column, row.get(column.key)),
                column.kind not in ("text", "invoices"),
                list(row.get(column.key) or []) if column.kind == "invoices" else [],
            )
            for column in table.columns
        ]
        for row in (table.rows if rows is None else rows)
    ]


def as_csv(table: Table, filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([str(column.label) for column in table.columns])
    for row in table.rows:
        writer.writerow([csv_text(column, row.get(column.key)) for column in table.columns])
    return response


def _section(index: int, title: Any, table: Table, page_number: str | None) -> dict[str, Any]:
    section: dict[str, Any] = {
        "index": index,
        "title": title,
        "table": table,
        "chart": bar_chart(table, lambda value: "" if value is None else str(value)),
        "page": None,
    }
    if table.total_rows is not None:
        # The selector gave one page: the pages are counted from its total.
        paged = Paginator(range(table.total_rows), table.per_page or PAGE_ROWS)
        section["page"] = paged.get_page(table.page)
        section["cells"] = table_cells(table)
    elif len(table.rows) > PAGE_ROWS:
        page = Paginator(table.rows, PAGE_ROWS).get_page(page_number)
        section["page"] = page
        section["cells"] = table_cells(table, list(page.object_list))
    else:
        section["cells"] = table_cells(table)
    return section


@managers_only
def report_index(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": _("Reports"),
        "reports": REPORTS.values(),
    }
    return render(request, "reports/index.html", context)


@managers_only
def report(request: HttpRequest, slug: str) -> HttpResponse:
    page = REPORTS.get(slug)
    if page is None:
        raise Http404
    form = ReportForm(
        request.GET,
        today=timezone.localdate(),
        fields=page.fields,
        groups=page.groups,
        default_preset=page.default_preset,
    )
    csv_wanted = request.GET.get("format") == "csv"
    sections = []
    if form.is_valid():
        # The CSV has every row; the page one page of a long table.
        data = {**form.cleaned_data, "page": None} if csv_wanted else form.cleaned_data
        sections = page.build(data)
    if csv_wanted and sections:
        try:
            _title, table = sections[int(request.GET.get("table", "0"))]
        except (ValueError, IndexError):
            raise Http404 from None
        period = form.cleaned_data.get("period") or form.cleaned_data.get("as_of") or ""
        return as_csv(table, f"{slug}-{str(period).replace(' – ', '_')}.csv")
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("table", None)
    paged = query.copy()
    paged.pop("page", None)
    context = {
        **admin.site.each_context(request),
        "title": page.title,
        "page": page,
        "form": form,
        "reports": REPORTS.values(),
        "period": form.cleaned_data.get("period") if form.is_valid() else None,
        "query": query.urlencode(),
        "paged_query": paged.urlencode(),
        "sections": [
            _section(index, title, table, request.GET.get("page"))
            for index, (title, table) in enumerate(sections)
        ],
    }
    return render(request, "reports/report.html", context)
