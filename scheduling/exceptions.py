from __future__ import annotations

from typing import TYPE_CHECKING

from clinic.kernel.errors import DomainError

if TYPE_CHECKING:
    from .models import Appointment


class SchedulingError(DomainError):
    """A booking or a change of an appointment that the clinic's rules refuse."""


class Overlap(SchedulingError):
    """The time is taken: the doctor or the patient has another active appointment."""

    code = "overlap"

    def __init__(self, message: str, *, conflict: Appointment | None = None) -> None:
        super().__init__(message)
        self.conflict = conflict


class InvalidTransition(SchedulingError):
    code = "invalid_transition"


class Unavailable(SchedulingError):
    """Outside the doctor's hours, during their time off, in the past, or with an
    inactive doctor or service."""

    code = "unavailable"


class InvalidTimes(SchedulingError):
    code = "invalid_times"
