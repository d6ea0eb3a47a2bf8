"""A fake of Twilio's Messages API for the real `twilio` client (through the
TWILIO_API_BASE_URL setting). It accepts every message unless a test queues an
error, and keeps what the client sent."""

from __future__ import annotations

import itertools

from .server import FakeServer, Recorded, Reply

ACCOUNT_SID = "ACfake00000000000000000000000000"
AUTH_TOKEN = "fake-twilio-auth-token"
FROM_NUMBER = "+15005550006"

_message_numbers = itertools.count(1)


def accept_message(request: Recorded) -> Reply:
    if request.method != "POST" or not request.path.endswith("/Messages.json"):
        return error(404, 20404, "The requested resource was not found")
    form = request.form
    return Reply(
        201,
        {
            "sid": f"SM{next(_message_numbers):032d}",
            "account_sid": ACCOUNT_SID,
            "to": form.get("To"),
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form.get("Body"),
            "status": "queued",
            "num_segments": "1",
        },
    )


def error(status: int, code: int, message: str) -> Reply:
    """An error as Twilio's API answers it."""
    return Reply(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


INVALID_NUMBER = error(400, 21211, "The 'To' number is not a valid phone number.")
NOT_MOBILE = error(400, 21614, "'To' number is not a valid mobile number")
UNSUBSCRIBED = error(400, 21610, "Attempt to send to unsubscribed recipient")
RATE_LIMITED = error(429, 20429, "Too Many Requests")
OUTAGE = error(503, 20503, "Service Unavailable")


class FakeTwilio(FakeServer):
    def __init__(self) -> None:
        super().__init__(respond=accept_message)

    @property
    def messages(self) -> list[dict[str, str]]:
        """The form of every Messages create call, in order."""
        return [
            request.form for request in self.requests if request.path.endswith("/Messages.json")
        ]
