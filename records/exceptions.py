"""The records' domain errors: refusals of the rules of DESIGN.md section 6. Each
carries a stable code; services raise them and change nothing."""

from __future__ import annotations

from clinic.kernel.errors import DomainError


class RecordsError(DomainError):
    """A read or a write of clinical content that the clinic's rules refuse."""


class Forbidden(RecordsError):
    """The user may not read or write this clinical content."""

    code = "forbidden"


class ReasonRequired(Forbidden):
    """A doctor opening the chart of a patient who is not theirs must first state
    why ("break the glass"); `patient_id` names the chart, so a page can ask."""

    code = "reason_required"

    def __init__(self, message: str, *, patient_id: int) -> None:
        super().__init__(message)
        self.patient_id = patient_id


class RecordLocked(RecordsError):
    """The note or prescription is signed: corrections are addenda, never edits."""

    code = "locked"


class SessionClosed(RecordsError):
    """The session is completed (or not yet completed, for signing)."""

    code = "session_closed"


class NotSigned(RecordsError):
    """An addendum corrects a signed note; an unsigned one is simply edited."""

    code = "not_signed"


class EmptyNote(RecordsError):
    """A note is signed only with something in it: an assessment or a plan."""

    code = "empty_note"


class InvalidClinicalData(RecordsError):
    """Values out of range or missing; `errors` maps a field to its messages."""

    code = "invalid"

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


class AppendOnly(RecordsError):
    """The access log only grows: nobody edits or deletes an entry."""

    code = "append_only"
