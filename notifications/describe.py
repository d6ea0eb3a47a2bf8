"""How the outbox names a message and explains its state to staff: "Reminder 24 h
before" rather than a template key, and "Quiet hours: goes at 08:00" rather than a
bare "pending".

Read by the outbox page through `outbox_rows`; nothing here changes a message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .channels import channel_class
from .models import Notification, Status
from .timing import outside_quiet_hours

# The message kinds in words, by template key. A key without an entry (a new
# template) is shown as its words ("doctor_note" → "Doctor note").
KINDS = {
    "appointment_booked": gettext_lazy("Booking confirmation"),
    "appointment_confirmed": gettext_lazy("Confirmation received"),
    "appointment_rescheduled": gettext_lazy("Appointment moved"),
    "appointment_cancelled": gettext_lazy("Cancellation notice"),
    "appointment_no_show": gettext_lazy("Missed appointment, rebook"),
    "rebooking_call": gettext_lazy("We will call to rebook"),
    "session_completed": gettext_lazy("Thank you after the visit"),
    "payment_link": gettext_lazy("Link to pay online"),
    "doctor_patient_arrived": gettext_lazy("Patient arrived (to the doctor)"),
    "doctor_appointment_rescheduled": gettext_lazy("Appointment moved (to the doctor)"),
    "doctor_appointment_cancelled": gettext_lazy("Appointment cancelled (to the doctor)"),
    "reception_session_started": gettext_lazy("Session started (to reception)"),
    "reception_session_completed": gettext_lazy("Session completed (to reception)"),
}
REMINDER = "appointment_reminder"


@dataclass(frozen=True)
class OutboxRow:
    notification: Notification
    kind: str
    waiting: str


def outbox_rows(
    notifications: list[Notification], *, now: datetime | None = None
) -> list[OutboxRow]:
    """The outbox's rows, each message with its kind in words and why it waits."""
    now = now or timezone.now()
    return [
        OutboxRow(notification, kind_of(notification), waiting_reason(notification, now=now))
        for notification in notifications
    ]


def kind_of(notification: Notification) -> str:
    """What the message is, in the clinic's words."""
    if notification.template == REMINDER:
        return _reminder_kind(notification)
    label = KINDS.get(notification.template)
    if label is not None:
        return str(label)
    return notification.template.replace("_", " ").capitalize()


def _reminder_kind(notification: Notification) -> str:
    # A reminder is due a set number of hours before the appointment it was made for.
    appointment = notification.appointment
    if appointment is None:
        return _("Reminder")
    hours = round((appointment.starts_at - notification.send_after) / timedelta(hours=1))
    if hours <= 0:
        return _("Reminder")
    return ngettext("Reminder %(hours)s h before", "Reminder %(hours)s h before", hours) % {
        "hours": hours
    }


def waiting_reason(notification: Notification, *, now: datetime) -> str:
    """Why a pending message has not gone yet ("" for any other status, or for one
    that is due now and waits only for the worker's next round)."""
    if notification.status != Status.PENDING or notification.next_attempt_at <= now:
        return ""
    goes_at = notification.next_attempt_at
    if notification.attempts and notification.last_error:
        return _("Trying again at %(time)s after: %(error)s") % {
            "time": _clock(goes_at, now),
            "error": notification.last_error,
        }
    if _held_by_quiet_hours(notification):
        return _("Quiet hours: goes at %(time)s") % {"time": _clock(goes_at, now)}
    return _("Scheduled for %(time)s") % {"time": _clock(goes_at, now)}


def _held_by_quiet_hours(notification: Notification) -> bool:
    if not channel_class(notification.channel).respects_quiet_hours:
        return False
    return outside_quiet_hours(notification.send_after) != notification.send_after


def _clock(moment: datetime, now: datetime) -> str:
    """The time in the clinic, with the date when it is not today."""
    local, today = timezone.localtime(moment), timezone.localtime(now).date()
    if local.date() == today:
        return time_format(local, "H:i")
    return date_format(local, "D j M H:i")
