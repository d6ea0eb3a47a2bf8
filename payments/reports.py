"""The manager's reports on money: takings and revenue, and receivables.

Money is summed in the database as `Decimal` (never floats), in a fixed number of
grouped queries whatever the period. Each figure is dated by its own event, as a
till would: an invoice by its issue, a payment when it was settled, a refund, a
discount or a write-off when it was made (a reversal counts against the day it was
made). Days and months are those of the clinic's zone."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    When,
)
from django.db.models.functions import TruncDate, TruncMonth
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from clinic.kernel.dates import clinic_zone
from clinic.kernel.periods import Period, day_start
from clinic.kernel.tables import Column, Table
from doctors.models import Doctor

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
    "method": _("Method"),
}
MONEY = DecimalField(max_digits=14, decimal_places=2)


def _takings_columns(group: str) -> list[Column]:
    columns = [Column("label", TAKINGS_GROUPS[group], "text")]
    if group != "method":
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
    and the net taken (collected less refunded), by day, month, doctor or method.

    `doctor` and `service` keep the invoices of the doctor's sessions or with a line
    of that service; `method` keeps the payments and refunds of that method (and
    then the invoice figures, which have no method, are left out)."""
    if group not in TAKINGS_GROUPS:
        raise ValueError(f"Unknown group {group!r}.")
    if method is not None and group != "method":
        group_columns = [c for c in _takings_columns(group) if c.key not in _INVOICE_FIGURES]
    else:
        group_columns = _takings_columns(group)
    figures: dict[Any, dict[str, Decimal]] = {}

    def add(rows: QuerySet[Any], name: str) -> None:
        for row in rows:
            entry = figures.setdefault(row["key"], {})
            entry[name] = entry.get(name, ZERO) + (row["amount"] or ZERO)

    def scoped(found: QuerySet[Any], invoice: str) -> QuerySet[Any]:
        if doctor is not None:
            found = found.filter(**{f"{invoice}session__doctor_id": doctor})
        if service is not None:
            lines = InvoiceLine.objects.filter(invoice=OuterRef(f"{invoice}pk"), service_id=service)
            found = found.filter(Exists(lines))
        return found

    def grouped(
        found: QuerySet[Any], when: str, invoice: str, amount: Any, extra: tuple[str, ...] = ()
    ) -> QuerySet[Any]:
        key: Any
        if group == "day":
            key = TruncDate(when, tzinfo=clinic_zone())
        elif group == "month":
            key = TruncMonth(when, tzinfo=clinic_zone())
        elif group == "doctor":
            key = F(f"{invoice}session__doctor_id")
        else:
            key = F("method" if invoice == "invoice__" else "payment__method")
        found = scoped(found, invoice).annotate(key=key).values("key", *extra)
        return found if amount is None else found.annotate(amount=amount)

    bounds = {"__gte": period.starts_at, "__lt": period.ends_at}

    def between(field: str) -> dict[str, Any]:
        return {f"{field}{op}": moment for op, moment in bounds.items()}

    if method is None and group != "method":
        invoices = Invoice.objects.filter(voided_at__isnull=True, **between("issued_at"))
        subtotal = ExpressionWrapper(F("total") + F("amount_discounted"), output_field=MONEY)
        add(grouped(invoices, "issued_at", "", Sum(subtotal)), "invoiced")
        made = InvoiceAdjustment.objects.filter(**between("created_at"))
        signed = Case(
            When(reverses__isnull=True, then=F("amount")), default=-F("amount"), output_field=MONEY
        )
        names = {AdjustmentKind.DISCOUNT: "discounted", AdjustmentKind.WRITE_OFF: "written_off"}
        for adjusted in grouped(made, "created_at", "invoice__", None, extra=("kind",)).annotate(
            amount=Sum(signed)
        ):
            entry = figures.setdefault(adjusted["key"], {})
            name = names[adjusted["kind"]]
            entry[name] = entry.get(name, ZERO) + (adjusted["amount"] or ZERO)
    payments = Payment.objects.filter(status=PaymentStatus.SUCCEEDED, **between("settled_at"))
    refunds = Refund.objects.filter(**between("created_at"))
    if method is not None:
        payments = payments.filter(method=method)
        refunds = refunds.filter(payment__method=method)
    add(grouped(payments, "settled_at", "invoice__", Sum("amount")), "collected")
    add(grouped(refunds, "created_at", "payment__invoice__", Sum("amount")), "refunded")

    labels = _takings_labels(group, list(figures))
    rows = []
    for key in sorted(
        figures, key=lambda k: labels.get(k, str(k)) if group in ("doctor", "method") else k
    ):
        entry = figures[key]
        row: dict[str, Any] = {"label": labels.get(key, str(key))}
        for column in group_columns[1:]:
            row[column.key] = entry.get(column.key, ZERO)
        row["net"] = entry.get("collected", ZERO) - entry.get("refunded", ZERO)
        rows.append(row)
    return Table(columns=group_columns, rows=rows, chart_value="net", chart_label="label")


_INVOICE_FIGURES = ("invoiced", "discounted", "written_off")


def _takings_labels(group: str, keys: list[Any]) -> dict[Any, str]:
    if group == "doctor":
        return {d.pk: d.full_name for d in Doctor.objects.filter(pk__in=keys)}
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
