from __future__ import annotations

from clinic.kernel.errors import DomainError


class PatientMergeRefused(DomainError):
    """Two patients that cannot be merged as they are: the message says why."""

    code = "merge_refused"
