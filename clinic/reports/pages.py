"""The reports a manager opens: what each shows and which selectors make it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.kernel.tables import Table
from notifications import reports as message_reports
from online.models import OnlineRules
from payments import reports as money_reports
from scheduling import reports as appointment_reports

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class ReportPage:
    slug: str
    title: StrOrPromise
    description: StrOrPromise
    fields: tuple[str, ...]
    build: Callable[[dict[str, Any]], list[tuple[StrOrPromise, Table]]]
    groups: dict[str, Any] | None = None
    default_preset: str = "last_month"


def _pk(value: Any) -> int | None:
    return value.pk if value is not None else None


def _attendance(data: dict[str, Any]) -> list[tuple[StrOrPromise, Table]]:
    table = appointment_reports.attendance(
        period=data["period"],
        group=data.get("group") or "doctor",
        doctor=_pk(data.get("doctor")),
        service=_pk(data.get("service")),
        late_cancel_hours=OnlineRules.current().late_cancel_hours,
    )
    # Thirteen columns do not fit a laptop's screen: the outcomes and rates with their
    # chart, then how far ahead the same appointments were booked.
    return [
        (_("No-show rate %"), table.only(*ATTENDANCE_OUTCOMES, chart_value="no_show_rate")),
        (_("How far ahead they book"), table.only(*ATTENDANCE_LEAD_TIMES)),
    ]


ATTENDANCE_OUTCOMES = (
    "label",
    "appointments",
    "attended",
    "still_ahead",
    "no_shows",
    "cancelled",
    "late_cancelled",
    "no_show_rate",
    "late_cancel_rate",
)
ATTENDANCE_LEAD_TIMES = (
    "label",
    "appointments",
    "ahead_same_day",
    "ahead_week",
    "ahead_month",
    "ahead_more",
)


def _utilisation(data: dict[str, Any]) -> list[tuple[StrOrPromise, Table]]:
    table = appointment_reports.utilisation(
        period=data["period"], by=data.get("group") or "day", doctor=_pk(data.get("doctor"))
    )
    return [(_("Utilisation %"), table)]


def _takings(data: dict[str, Any]) -> list[tuple[StrOrPromise, Table]]:
    table = money_reports.takings(
        period=data["period"],
        group=data.get("group") or "day",
        doctor=_pk(data.get("doctor")),
        service=_pk(data.get("service")),
        method=data.get("method") or None,
    )
    return [(_("Net taken"), table)]


def _receivables(data: dict[str, Any]) -> list[tuple[StrOrPromise, Table]]:
    as_of = data.get("as_of") or timezone.localdate()
    older = int(data.get("older_than") or 0)
    # The page shows one page of patients; the CSV (no page) has them all.
    table = money_reports.receivables(as_of=as_of, older_than_days=older, page=data.get("page"))
    return [
        (_("Due by age"), money_reports.receivables_by_age(as_of=as_of, older_than_days=older)),
        (_("By patient"), table),
    ]


def _messages(data: dict[str, Any]) -> list[tuple[StrOrPromise, Table]]:
    return [
        (_("Texts sent"), message_reports.messages(period=data["period"])),
        (
            _("No-show rate with and without a reminder"),
            message_reports.reminder_effect(period=data["period"]),
        ),
    ]


PERIOD = ("preset", "first", "last")
REPORTS = {
    page.slug: page
    for page in [
        ReportPage(
            "attendance",
            _("Attendance"),
            _("Appointments by status, no-show and late-cancel rates, how far ahead they book."),
            (*PERIOD, "group", "doctor", "service"),
            _attendance,
            appointment_reports.ATTENDANCE_GROUPS,
        ),
        ReportPage(
            "utilisation",
            _("Utilisation"),
            _("Booked minutes against working minutes (hours less time off); the free minutes."),
            (*PERIOD, "group", "doctor"),
            _utilisation,
            {"day": _("Day"), "week": _("Week")},
            "this_week",
        ),
        ReportPage(
            "takings",
            _("Takings and revenue"),
            _(
                "Invoiced, discounted, written off, collected and refunded. By service, "
                "each invoice's money is shared among its lines in proportion to their prices."
            ),
            (*PERIOD, "group", "doctor", "service", "method"),
            _takings,
            money_reports.TAKINGS_GROUPS,
            "this_week",
        ),
        ReportPage(
            "receivables",
            _("Receivables"),
            _("Open balances by patient, aged by the day each invoice was issued."),
            ("as_of", "older_than", "page"),
            _receivables,
        ),
        ReportPage(
            "messages",
            _("Messages"),
            _("Texts sent, delivered, failed; opt-outs; replies; reminders and no-shows."),
            PERIOD,
            _messages,
        ),
    ]
}
