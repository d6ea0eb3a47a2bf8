"""The manager's reports on money: takings and revenue, and receivables.

Money is summed in the database as `Decimal` (never floats), in a fixed number of
grouped queries whatever the period. Each figure is dated by its own event, as a
till would: an invoice by its issue, a payment when it was settled, a refund, a
discount or a write-off when it was made (a reversal counts against the day it was
made). Days and months are those of the clinic's zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncDate, TruncMonth
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from clinic.kernel.dates import clinic_zone
from clinic.kernel.periods import Period, day_start
from clinic.kernel.tables import Column, Table
from doctors.models import Doctor
from scheduling.models import Service

from .methods import all_methods
from .models import (
    ZERO,
    AdjustmentKind,
    Invoice,
    InvoiceAdjustment,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Refund,
)
from .selectors import balance_expression

TAKINGS_GROUPS = {
    "day": _("Day"),
    "month": _("Month"),
    "doctor": _("Doctor"),
    "service": _("Service"),
    "method": _("Method"),
}
MONEY = DecimalField(max_digits=14, decimal_places=2)
CENT = Decimal("0.01")
_INVOICE_FIGURES = ("invoiced", "discounted", "written_off")


def _takings_columns(group: str, method: str | None) -> list[Column]:
    columns = [Column("label", TAKINGS_GROUPS[group], "text")]
    # Invoices have no method: their figures show only when no method is asked for.
    if group != "method" and method is None:
        columns += [
            Column("invoiced", _("Invoiced"), "money"),
            Column("discounted", _("Discounted"), "money"),
            Column("written_off", _("Written off"), "money"),
        ]
    return [
        *columns,
        Column("collected", _("Collected"), "money"),
        Column("refunded", _("Refunded"), "money"),
        Column("net", _("Net taken"), "money"),
    ]


@dataclass(frozen=True)
class _Takings:
    """How one takings report groups and keeps its rows. `invoice` is the path from
    the rows being summed to their invoice ("" for invoices themselves)."""

    group: str
    doctor: int | None
    service: int | None
    per_line: bool

    def key(self, when: str, invoice: str) -> Any:
        if self.group == "day":
            return TruncDate(when, tzinfo=clinic_zone())
        if self.group == "month":
            return TruncMonth(when, tzinfo=clinic_zone())
        if self.group == "doctor":
            return F(f"{invoice}session__doctor_id")
        if self.group == "service":
            return F(f"{invoice}lines__service_id")
        return F("method" if invoice == "invoice__" else "payment__method")

    def sums(
        self, found: QuerySet[Any], when: str, invoice: str, amount: Any, *extra: str
    ) -> list[tuple[Any, tuple[Any, ...], Decimal]]:
        """(key, extra values, amount) rows of `found` summed by the report's group.

        Per line (by service, or for one service), an amount of the whole invoice
        (a payment, a refund, a discount, a write-off) is shared among its lines in
        proportion to their amounts, as a till splits a receipt: a line's part is
        amount * line / the lines' sum (the invoice before discounts), and an invoice
        whose lines sum to nothing is shared equally. The sum is taken in the
        database by divisor (few: the invoices' totals repeat) and divided here, so
        the division is `Decimal` (28 digits) whatever the database; each figure is
        then rounded to the cent, half up, so a service's row may differ from its
        exact share by half a cent."""
        if self.doctor is not None:
            found = found.filter(**{f"{invoice}session__doctor_id": self.doctor})
        found = found.annotate(key=self.key(when, invoice))
        if not self.per_line:
            rows = found.values("key", *extra).annotate(amount=Sum(amount)).order_by()
            return [
                (row["key"], tuple(row[e] for e in extra), row["amount"] or ZERO) for row in rows
            ]
        if self.service is not None:
            found = found.annotate(line_service=F(f"{invoice}lines__service_id")).filter(
                line_service=self.service
            )
        free = Q(**{f"{invoice}total": 0, f"{invoice}amount_discounted": 0})
        line_count = Subquery(
            InvoiceLine.objects.filter(invoice=OuterRef(f"{invoice}pk"))
            .values("invoice")
            .annotate(n=Count("pk"))
            .values("n")
        )
        weighted = found.annotate(
            divisor=Case(
                When(free, then=line_count),
                default=F(f"{invoice}total") + F(f"{invoice}amount_discounted"),
                output_field=MONEY,
            ),
            weight=Case(
                When(free, then=Value(1)),
                default=F(f"{invoice}lines__quantity") * F(f"{invoice}lines__unit_price"),
                output_field=MONEY,
            ),
        )
        parts: dict[tuple[Any, tuple[Any, ...]], Decimal] = {}
        for row in (
            weighted.values("key", "divisor", *extra)
            .annotate(amount=Sum(ExpressionWrapper(amount * F("weight"), output_field=MONEY)))
            .order_by()
        ):
            if not row["amount"]:
                continue  # nothing to share (or an invoice without lines)
            group_key = (row["key"], tuple(row[e] for e in extra))
            part = Decimal(row["amount"] or ZERO) / Decimal(row["divisor"])
            parts[group_key] = parts.get(group_key, ZERO) + part
        return [(key, values, amount) for (key, values), amount in parts.items()]


def takings(
    *,
    period: Period,
    group: str = "day",
    doctor: int | None = None,
    service: int | None = None,
    method: str | None = None,
) -> Table:
    """Invoiced (the services' prices of invoices issued in the period, void ones
    left out), discounted and written off (made in the period, less reversals),
    collected (payments settled in the period) and refunded (refunds made in it),
    and the net taken (collected less refunded), by day, month, doctor, service or
    method.

    `doctor` keeps the invoices of the doctor's sessions; `service` keeps that
    service's part of every figure (see `_Takings.sums`); `method` keeps the
    payments and refunds of that method (and then the invoice figures, which have
    no method, are left out). Five queries at most, whatever the period."""
    if group not in TAKINGS_GROUPS:
        raise ValueError(f"Unknown group {group!r}.")
    columns = _takings_columns(group, method)
    report = _Takings(group, doctor, service, per_line=group == "service" or service is not None)
    figures: dict[Any, dict[str, Decimal]] = {}

    def add(key: Any, name: str, amount: Decimal) -> None:
        entry = figures.setdefault(key, {})
        entry[name] = entry.get(name, ZERO) + amount

    def between(field: str) -> dict[str, Any]:
        return {f"{field}__gte": period.starts_at, f"{field}__lt": period.ends_at}

    if method is None and group != "method":
        invoices = Invoice.objects.filter(voided_at__isnull=True, **between("issued_at"))
        subtotal = ExpressionWrapper(F("total") + F("amount_discounted"), output_field=MONEY)
        for key, _values, amount in report.sums(invoices, "issued_at", "", subtotal):
            add(key, "invoiced", amount)
        made = InvoiceAdjustment.objects.filter(**between("created_at"))
        signed = Case(
            When(reverses__isnull=True, then=F("amount")), default=-F("amount"), output_field=MONEY
        )
        names = {AdjustmentKind.DISCOUNT: "discounted", AdjustmentKind.WRITE_OFF: "written_off"}
        for key, (kind,), amount in report.sums(made, "created_at", "invoice__", signed, "kind"):
            add(key, names[kind], amount)
    payments = Payment.objects.filter(status=PaymentStatus.SUCCEEDED, **between("settled_at"))
    refunds = Refund.objects.filter(**between("created_at"))
    if method is not None:
        payments = payments.filter(method=method)
        refunds = refunds.filter(payment__method=method)
    for key, _values, amount in report.sums(payments, "settled_at", "invoice__", F("amount")):
        add(key, "collected", amount)
    for key, _values, amount in report.sums(
        refunds, "created_at", "payment__invoice__", F("amount")
    ):
        add(key, "refunded", amount)
    return _takings_table(group, columns, figures)


def _takings_table(
    group: str, columns: list[Column], figures: dict[Any, dict[str, Decimal]]
) -> Table:
    labels = _takings_labels(group, list(figures))
    by_label = group in ("doctor", "service", "method")
    rows = []
    for key in sorted(figures, key=lambda k: labels.get(k, str(k)) if by_label else k):
        entry = {
            name: amount.quantize(CENT, rounding=ROUND_HALF_UP)
            for name, amount in figures[key].items()
        }
        row: dict[str, Any] = {"label": labels.get(key, str(key))}
        for column in columns[1:]:
            row[column.key] = entry.get(column.key, ZERO)
        row["net"] = entry.get("collected", ZERO) - entry.get("refunded", ZERO)
        rows.append(row)
    return Table(columns=columns, rows=rows, chart_value="net", chart_label="label")


def _takings_labels(group: str, keys: list[Any]) -> dict[Any, str]:
    if group == "doctor":
        return {d.pk: d.full_name for d in Doctor.objects.filter(pk__in=keys)}
    if group == "service":
        return {s.pk: s.name for s in Service.objects.filter(pk__in=keys)}
    if group == "method":
        methods = all_methods()
        return {key: str(methods[key].label) if key in methods else key for key in keys}
    if group == "month":
        return {key: f"{key:%Y-%m}" for key in keys if key is not None}
    return {key: key.isoformat() for key in keys if key is not None}


# --- Receivables ------------------------------------------------------------------

AGE_BANDS = [
    ("age_0_30", _("0–30 days"), 0, 30),
    ("age_31_60", _("31–60 days"), 31, 60),
    ("age_61_90", _("61–90 days"), 61, 90),
    ("age_over_90", _("Over 90 days"), 91, None),
]
RECEIVABLES_COLUMNS = [
    Column("patient", _("Patient"), "text"),
    *(Column(key, label, "money") for key, label, _low, _high in AGE_BANDS),
    Column("total", _("Total due"), "money"),
    Column("invoices", _("Invoices"), "invoices"),
]


def _open_on(as_of: date, older_than_days: int) -> QuerySet[Invoice]:
    """The invoices still open on `as_of` (not void, a balance above zero), of the
    patients owing something older than `older_than_days` (all, for 0)."""
    open_invoices = (
        Invoice.objects.filter(
            status__in=[InvoiceStatus.OPEN, InvoiceStatus.DISPUTED], voided_at__isnull=True
        )
        .alias(due=balance_expression())
        .filter(due__gt=0, issued_at__lt=day_start(as_of + timedelta(days=1)))
    )
    if older_than_days:
        older = day_start(as_of - timedelta(days=older_than_days))
        owing = open_invoices.filter(issued_at__lt=older).values("patient_id")
        open_invoices = open_invoices.filter(patient_id__in=owing)
    return open_invoices


def _age_sums(as_of: date) -> dict[str, Any]:
    due = ExpressionWrapper(balance_expression(), output_field=MONEY)
    sums: dict[str, Any] = {}
    for key, _label, low, high in AGE_BANDS:
        band = Q(issued_at__lt=day_start(as_of - timedelta(days=low - 1)))
        if high is not None:
            band &= Q(issued_at__gte=day_start(as_of - timedelta(days=high)))
        sums[key] = Sum(due, filter=band)
    sums["total"] = Sum(due)
    return sums


def receivables(
    *, as_of: date, older_than_days: int = 0, page: int | None = None, per_page: int = 200
) -> Table:
    """What patients owe on invoices still open (not void, a balance above zero),
    by patient, aged by the clinic day each invoice was issued: 0-30, 31-60, 61-90
    and over 90 days before `as_of`. `older_than_days` keeps the patients owing
    something older than that (their whole balance is shown).

    Every patient, or one `page` of `per_page` of them (the table then knows how
    many there are in all). Two queries, three with a page: the sums by patient,
    the open invoices of the patients listed (for links), and the count."""
    open_invoices = _open_on(as_of, older_than_days)
    grouped = (
        open_invoices.values("patient_id", "patient__given_name", "patient__family_name")
        .annotate(**_age_sums(as_of))
        .order_by("patient__family_name", "patient__given_name", "patient_id")
    )
    total_rows = None
    if page is not None:
        total_rows = open_invoices.values("patient_id").distinct().count()
        last_page = max(1, -(-total_rows // per_page))
        page = min(max(page, 1), last_page)
        grouped = grouped[(page - 1) * per_page : page * per_page]
    rows: list[dict[str, Any]] = [dict(row) for row in grouped]
    listed = {row["patient_id"] for row in rows}
    invoices = open_invoices.order_by("number").values_list("pk", "number", "patient_id")
    if page is not None:
        invoices = invoices.filter(patient_id__in=listed)
    # One reverse for every link (thousands of open invoices in a big clinic).
    prefix = reverse("payments:invoice", args=[1]).removesuffix("1/")
    links: dict[int, list[tuple[str, str]]] = {}
    for pk, number, patient_id in invoices:
        if patient_id in listed:
            links.setdefault(patient_id, []).append((f"{number:06d}", f"{prefix}{pk}/"))
    table_rows = []
    for row in rows:
        entry: dict[str, Any] = {
            "patient": f"{row['patient__given_name']} {row['patient__family_name']}",
            "invoices": links.get(row["patient_id"], []),
        }
        for key in [band[0] for band in AGE_BANDS] + ["total"]:
            entry[key] = row[key] or ZERO
        table_rows.append(entry)
    return Table(
        columns=RECEIVABLES_COLUMNS,
        rows=table_rows,
        chart_value="",
        chart_label="patient",
        total_rows=total_rows,
        page=page,
        per_page=per_page,
    )


def receivables_by_age(*, as_of: date, older_than_days: int = 0) -> Table:
    """What the receivables report's patients owe, by age band: its chart. One query."""
    figures = _open_on(as_of, older_than_days).aggregate(**_age_sums(as_of))
    return Table(
        columns=[Column("age", _("Age"), "text"), Column("due", _("Due"), "money")],
        rows=[
            {"age": str(label), "due": (figures[key] or ZERO).quantize(Decimal("0.01"))}
            for key, label, _low, _high in AGE_BANDS
        ],
        chart_value="due",
        chart_label="age",
    )


# --- The dashboard ----------------------------------------------------------------


def collected_by_method(*, period: Period) -> list[tuple[str, Decimal]]:
    """The payments settled in `period`, by method's label, less nothing: the
    takings so far. One query."""
    methods = all_methods()
    rows = (
        Payment.objects.filter(
            status=PaymentStatus.SUCCEEDED,
            settled_at__gte=period.starts_at,
            settled_at__lt=period.ends_at,
        )
        .values("method")
        .annotate(total=Sum("amount"))
        .order_by("method")
    )
    return [
        (
            str(methods[row["method"]].label) if row["method"] in methods else row["method"],
            row["total"].quantize(Decimal("0.01")),
        )
        for row in rows
    ]


def open_balances() -> tuple[int, Decimal]:
    """How many invoices have something due, and how much in all. One query."""
    figures = (
        Invoice.objects.filter(
            status__in=[InvoiceStatus.OPEN, InvoiceStatus.DISPUTED], voided_at__isnull=True
        )
        .alias(due=balance_expression())
        .filter(due__gt=0)
        .aggregate(
            n=Count("pk"), total=Sum(ExpressionWrapper(balance_expression(), output_field=MONEY))
        )
    )
    return figures["n"], (figures["total"] or ZERO).quantize(Decimal("0.01"))
