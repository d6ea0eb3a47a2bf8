"""The manager's report on messages: the patients' texts by day, opt-outs,
confirmations by reply, and whether reminders keep patients coming.

Grouped in the database by clinic day (a fixed number of queries whatever the
period)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils.translation import gettext_lazy as _

from clinic.kernel.dates import clinic_zone
from clinic.kernel.periods import Period
from clinic.kernel.tables import Column, Table, rate
from patients.models import Patient
from scheduling.models import Appointment
from scheduling.models import Status as AppointmentStatus

from .models import Channel, InboundMessage, Notification, Status
from .rules import REMINDER

# What notifications.inbound records for a patient's C or YES that confirmed.
CONFIRMED_BY_REPLY = "Confirmed appointment"
SENT = (Status.SENT, Status.DELIVERED)

MESSAGES_COLUMNS = [
    Column("day", _("Day"), "text"),
    Column("texts", _("Texts")),
    Column("sent", _("Sent")),
    Column("delivered", _("Delivered")),
    Column("failed", _("Failed")),
    Column("skipped", _("Not sent (opted out, no number)")),
    Column("opt_outs", _("Opt-outs")),
    Column("confirmed_by_reply", _("Confirmed by reply")),
]
REMINDER_COLUMNS = [
    Column("label", _("Appointments"), "text"),
    Column("appointments", _("Due")),
    Column("no_shows", _("No-shows")),
    Column("no_show_rate", _("No-show rate %"), "percent"),
]


def messages(*, period: Period) -> Table:
    """Per clinic day: the texts (SMS to patients) due that day (`send_after`), how
    many went out, were delivered, failed or were not sent; the patients who opted
    out that day (their first opt-out still standing), and the appointments
    confirmed by a reply."""
    zone = clinic_zone()
    texts = (
        Notification.objects.filter(
            channel=Channel.SMS,
            patient__isnull=False,
            send_after__gte=period.starts_at,
            send_after__lt=period.ends_at,
        )
        .annotate(day=TruncDate("send_after", tzinfo=zone))
        .values("day")
        .annotate(
            texts=Count("pk"),
            sent=Count("pk", filter=Q(status__in=SENT)),
            delivered=Count("pk", filter=Q(status=Status.DELIVERED)),
            failed=Count("pk", filter=Q(status=Status.FAILED)),
            skipped=Count("pk", filter=Q(status=Status.SKIPPED)),
        )
    )
    days: dict[Any, dict[str, Any]] = {}
    for text in texts:
        days[text["day"]] = dict(text)
    opt_outs = (
        Patient.objects.filter(
            sms_opted_out_at__gte=period.starts_at, sms_opted_out_at__lt=period.ends_at
        )
        .annotate(day=TruncDate("sms_opted_out_at", tzinfo=zone))
        .values("day")
        .annotate(n=Count("pk"))
    )
    for opt_out in opt_outs:
        days.setdefault(opt_out["day"], {})["opt_outs"] = opt_out["n"]
    replies = (
        InboundMessage.objects.filter(
            received_at__gte=period.starts_at,
            received_at__lt=period.ends_at,
            outcome__startswith=CONFIRMED_BY_REPLY,
        )
        .annotate(day=TruncDate("received_at", tzinfo=zone))
        .values("day")
        .annotate(n=Count("pk"))
    )
    for reply in replies:
        days.setdefault(reply["day"], {})["confirmed_by_reply"] = reply["n"]
    rows = []
    for day in sorted(days):
        entry = days[day]
        rows.append(
            {"day": day.isoformat(), **{c.key: entry.get(c.key, 0) for c in MESSAGES_COLUMNS[1:]}}
        )
    return Table(columns=MESSAGES_COLUMNS, rows=rows, chart_value="sent", chart_label="day")


def reminder_effect(*, period: Period) -> Table:
    """The no-show rate of the appointments due in the period (those that came or
    did not: arrived, in session, completed or no-show) that got a reminder sent,
    against those that did not. Two queries."""
    due = (
        AppointmentStatus.ARRIVED,
        AppointmentStatus.IN_SESSION,
        AppointmentStatus.COMPLETED,
        AppointmentStatus.NO_SHOW,
    )
    no_show = Q(status=AppointmentStatus.NO_SHOW)
    everyone = Appointment.objects.filter(
        starts_at__gte=period.starts_at, starts_at__lt=period.ends_at, status__in=due
    ).aggregate(all=Count("pk"), no_shows=Count("pk", filter=no_show))
    # From the reminders' side: a join the planner does as one pass over them,
    # rather than a look-up per appointment.
    reminded = Notification.objects.filter(
        template=REMINDER,
        status__in=SENT,
        appointment__starts_at__gte=period.starts_at,
        appointment__starts_at__lt=period.ends_at,
        appointment__status__in=due,
    ).aggregate(
        all=Count("appointment", distinct=True),
        no_shows=Count(
            "appointment", distinct=True, filter=Q(appointment__status=AppointmentStatus.NO_SHOW)
        ),
    )
    figures = {
        "with_reminder": reminded["all"],
        "with_reminder_no_show": reminded["no_shows"],
        "without": everyone["all"] - reminded["all"],
        "without_no_show": everyone["no_shows"] - reminded["no_shows"],
    }
    rows = [
        {
            "label": _("With a reminder"),
            "appointments": figures["with_reminder"],
            "no_shows": figures["with_reminder_no_show"],
            "no_show_rate": rate(figures["with_reminder_no_show"], figures["with_reminder"]),
        },
        {
            "label": _("Without a reminder"),
            "appointments": figures["without"],
            "no_shows": figures["without_no_show"],
            "no_show_rate": rate(figures["without_no_show"], figures["without"]),
        },
    ]
    return Table(
        columns=REMINDER_COLUMNS, rows=rows, chart_value="no_show_rate", chart_label="label"
    )


def failed_texts(*, period: Period) -> int:
    """Messages due in `period` that failed (staff retry them on the outbox page)."""
    return Notification.objects.filter(
        status=Status.FAILED, send_after__gte=period.starts_at, send_after__lt=period.ends_at
    ).count()
