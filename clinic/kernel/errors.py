"""The base of every domain error: a clear message for people and a stable code
for machines. Pages, forms and the API turn these into messages and statuses in one
place each; services raise them and change nothing."""

from __future__ import annotations


class DomainError(Exception):
    code = "invalid"
    #: What stands in the way of the change, if anything: an object with `pk`,
    #: `starts_at` and `ends_at` (the appointment at that time), which the API shows.
    conflict: object | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
