"""Taking one step of the appointment lifecycle (models.STEPS): the row lock, the
refusal in the clinic's words, the change and its history entry. The use cases in
services.py choose the step, add their rules of time and send their signal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.kernel.users import User
from doctors.models import Doctor

from .exceptions import InvalidTransition
from .models import IN_VISIT, STEPS, Appointment, AppointmentChange

Action = AppointmentChange.Action


def lock_appointment(appointment: Appointment) -> Appointment:
    """The appointment's row, locked until the transaction ends, so two clerks acting
    on it at once take turns and the second sees the first one's change."""
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("doctor", "patient", "service")
        .get(pk=appointment.pk)
    )


# Why a step is refused, in one sentence per step (each step starts from fixed
# statuses, so the sentence is whole and translatable, not assembled from words).
STEP_REFUSALS = {
    "confirm": gettext_lazy("Only a booked appointment can be confirmed; this one is %(current)s."),
    "check-in": gettext_lazy(
        "Only a confirmed appointment can be checked in; this one is %(current)s."
    ),
    "cancel": gettext_lazy(
        "Only a booked or confirmed appointment can be cancelled; this one is %(current)s."
    ),
    "no-show": gettext_lazy(
        "Only a booked or confirmed appointment can be marked as a no-show; "
        "this one is %(current)s."
    ),
    "begin-visit": gettext_lazy(
        "Only an arrived appointment can be started; this one is %(current)s."
    ),
    "complete-visit": gettext_lazy(
        "Only an in session appointment can be completed; this one is %(current)s."
    ),
    "take-hold": gettext_lazy("This time is no longer held for the waitlist."),
    "release-hold": gettext_lazy("This time is no longer held for the waitlist."),
    "reschedule": gettext_lazy(
        "Only a booked or confirmed appointment can be rescheduled; this one is %(current)s."
    ),
}


def refusal(appointment: Appointment, step: str) -> str:
    """Why `step` (a key of STEP_REFUSALS) is refused for the appointment as it is."""
    current = appointment.get_status_display().lower()
    return str(STEP_REFUSALS[step]) % {"current": current}


def _step_refusal(appointment: Appointment, step: str) -> str:
    if step != "undo-check-in":
        return refusal(appointment, step)
    if appointment.status in IN_VISIT:
        return _("The session has started; the check-in can no longer be undone.")
    return _(
        "Only an arrived patient's check-in can be undone; this appointment is %(status)s."
    ) % {"status": appointment.get_status_display().lower()}


def take_step(
    appointment: Appointment,
    *,
    step: str,
    action: Action,
    by: User | None,
    note: str = "",
    via: str = "",
    check: Callable[[Appointment], None] | None = None,
    **fields: Any,
) -> tuple[Appointment, AppointmentChange]:
    """Take lifecycle `step` under a row lock, or refuse: the status must allow it,
    then `check` (a rule of time) may refuse. Returns the appointment and its new
    history entry; the caller sends its signal in the same transaction."""
    with transaction.atomic():
        current = lock_appointment(appointment)
        if not current.can(step):
            raise InvalidTransition(_step_refusal(current, step))
        if check is not None:
            check(current)
        from_status = current.status
        current.status = STEPS[step].target
        for name, value in fields.items():
            setattr(current, name, value)
        current.save(update_fields=["status", *fields, "updated_at"])
        change = record_change(current, action, by=by, from_status=from_status, note=note, via=via)
    return current, change


def record_change(
    appointment: Appointment,
    action: Action,
    *,
    by: User | None,
    from_status: str,
    note: str = "",
    via: str = "",
    from_starts_at: datetime | None = None,
    from_ends_at: datetime | None = None,
    from_doctor: Doctor | None = None,
    to_doctor: Doctor | None = None,
) -> AppointmentChange:
    return AppointmentChange.objects.create(
        appointment=appointment,
        action=action,
        changed_by=by,
        from_status=from_status,
        to_status=appointment.status,
        from_starts_at=from_starts_at,
        from_ends_at=from_ends_at,
        to_starts_at=appointment.starts_at,
        to_ends_at=appointment.ends_at,
        from_doctor=from_doctor,
        to_doctor=to_doctor,
        note=note,
        via=via,
    )
