"""Project middleware."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .kernel.http import client_ip
from .logging import LogContext, bind, current, unbind

logger = logging.getLogger("clinic.request")

REQUEST_ID_HEADER = "X-Request-ID"
# An id from a proxy or load balancer is kept when it cannot forge a log line.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# URL parts that are secrets (the patient's pay link): logged as "[redacted]".
SECRET_URL_KWARGS = frozenset({"token"})


class RequestLogMiddleware:
    """Gives each request an id (the caller's X-Request-ID when it looks safe, else a
        new one) that every log line of the request carries and the response returns,
        and logs one line per request: method, path, status, duration, user id and the
    client's address (clinic.kernel.http.client_ip, the proxy-aware one).

        The path is logged without its query string: searches hold patient names
        (/patients/?q=Smith)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        context = LogContext(request_id=request_id_for(request))
        token = bind(context)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            response[REQUEST_ID_HEADER] = context.request_id
            path = loggable_path(request)
            status = response.status_code
            logger.log(
                _level_for(status),
                "%s %s %s %sms",
                request.method,
                path,
                status,
                duration_ms,
                extra={
                    "method": request.method,
                    "path": path,
                    "status": status,
                    "duration_ms": duration_ms,
                    "user_id": context.current_user_id(),
                    "ip": client_ip(request),
                },
            )
            # Django's handler would log a 4xx or 5xx response again on "django.request",
            # outside this middleware and so without the request id; this line says it all.
            # (An exception's 500 is logged inside, with its traceback and request id.)
            response._has_been_logged = True  # type: ignore[attr-defined]
        finally:
            unbind(token)
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        # LoginRequiredMiddleware, next, reads request.user for every view anyway,
        # so reading it here costs nothing more; before this point (a 404, or a
        # middleware that answers by itself) the log never makes it load.
        context = current()
        if context is not None and hasattr(request, "user"):
            context.request = request
            context.current_user_id()


def _level_for(status: int) -> int:
    if status >= 500:
        return logging.ERROR
    if status >= 400:
        return logging.WARNING
    return logging.INFO


def request_id_for(request: HttpRequest) -> str:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    if SAFE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def loggable_path(request: HttpRequest) -> str:
    """The path without the query string, and without secrets in it."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    if match is not None:
        for name in SECRET_URL_KWARGS & match.kwargs.keys():
            path = path.replace(str(match.kwargs[name]), "[redacted]")
    return path
