"""Why a message was not sent. Channels raise these; the dispatcher turns each into
the row's outcome."""

from clinic.kernel.errors import DomainError


class NotSent(Exception):
    """A message that was not handed to the provider, with the reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Skipped(NotSent):
    """The clinic's own rules say not to send (opted out, appointment gone)."""


class PermanentFailure(NotSent):
    """The provider refused for good (invalid or non-mobile number, unsubscribed)."""


class TransientFailure(NotSent):
    """The provider may accept later (network error, rate limit, outage)."""


class OutboxError(DomainError):
    """A staff action on the outbox that the message's state does not allow."""

    code = "outbox"
