"""Taking one step of the appointment lifecycle (models.STEPS): the row lock, the
refusal in the clinic's words, the change and its history entry. The use cases in
services.py choose the step, add their rules of time and send their signal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from clinic.kernel.users import User
from doctors.models import Doctor

from .exceptions import InvalidTransition
from .models import IN_VISIT, STEPS, Appointment, AppointmentChange, Status

Action = AppointmentChange.Action


def lock_appointment(appointment: Appointment) -> Appointment:
    """The appointment's row, locked until the transaction ends, so two clerks acting
    on it at once take turns and the second sees the first one's change."""
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("doctor", "patient", "service")
        .get(pk=appointment.pk)
    )


STEP_VERBS = {
    "confirm": "confirmed",
    "check-in": "checked in",
    "cancel": "cancelled",
    "no-show": "marked as a no-show",
    "begin-visit": "started",
    "complete-visit": "completed",
    "take-hold": "booked from the waitlist",
    "release-hold": "released",
}


def refusal(appointment: Appointment, verb: str, allowed_from: frozenset[str]) -> str:
    allowed = " or ".join(
        Status(status).label.lower() for status in Status if status in allowed_from
    )
    article = "an" if allowed[0] in "aeiou" else "a"
    current = appointment.get_status_display().lower()
    return f"Only {article} {allowed} appointment can be {verb}; this one is {current}."


def _step_refusal(appointment: Appointment, step: str) -> str:
    if step != "undo-check-in":
        return refusal(appointment, STEP_VERBS[step], STEPS[step].sources)
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
