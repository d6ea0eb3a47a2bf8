"""What every log line says about where it came from: the request (or worker task)
it was logged in, and the staff user behind it.

RequestLogMiddleware and the task signals (clinic/tasks.py) bind a `LogContext` in a
context variable for the time of a request or task; `ContextFilter`, on the log
handler, copies its `request_id` and `user_id` onto every record. Settings choose the
formatter: JSON, one object per line, or plain text for reading in a terminal.

Only ids go in here, never a name: log lines leave the clinic's database (to log
files, to a hosted log service) and must carry no patient data.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

if TYPE_CHECKING:  # Settings load this module to configure logging: import little.
    from django.http import HttpRequest


@dataclass
class LogContext:
    request_id: str
    # Set once the request's user is known (RequestLogMiddleware.process_view);
    # until then nothing here evaluates `request.user`, which may need a query.
    request: HttpRequest | None = None
    # The last user seen: a user who logs out stays the one who did it.
    user_id: int | None = None

    def current_user_id(self) -> int | None:
        if self.request is not None:
            user = getattr(self.request, "user", None)
            if user is not None and user.is_authenticated:
                self.user_id = user.pk
        return self.user_id


_context: ContextVar[LogContext | None] = ContextVar("clinic_log_context", default=None)


def bind(context: LogContext) -> Token:
    """Make `context` the current one; pass the token to `unbind` when done."""
    return _context.set(context)


def unbind(token: Token) -> None:
    _context.reset(token)


def current() -> LogContext | None:
    return _context.get()


class ContextFilter(logging.Filter):
    """Adds `request_id` and `user_id` to every record (None outside a request or
    task), so every formatter can rely on them."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        if not hasattr(record, "request_id"):
            record.request_id = context.request_id if context else None
        if not hasattr(record, "user_id"):
            record.user_id = context.current_user_id() if context else None
        return True


class JsonFormatter(BaseJsonFormatter):
    """python-json-logger's formatter (one JSON object per line, with the record's
    extra fields), less Django's `request` extra: the request's repr holds the query
    string, and searches hold patient names. The path is in clinic.request's line."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request"])
        super().__init__(*args, **kwargs)
