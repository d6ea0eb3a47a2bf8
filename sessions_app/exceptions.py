from __future__ import annotations

from clinic.kernel.errors import DomainError


class SessionError(DomainError):
    """A step of a clinical session that the clinic's rules refuse."""


class NotReady(SessionError):
    """The appointment is not in a state, or not at a time, for this step."""

    code = "not_ready"


class AlreadyExists(SessionError):
    code = "already_exists"


class Busy(SessionError):
    """The doctor or the patient is already in another session."""

    code = "busy"


class InvalidTransition(SessionError):
    code = "invalid_transition"


class NotYours(SessionError):
    code = "forbidden"
