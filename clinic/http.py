"""Small helpers for views."""

from __future__ import annotations

from django.http import HttpRequest


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from, for the access audit. Behind a proxy this
    is the proxy's until the deployment sets the forwarded-for handling."""
    return request.META.get("REMOTE_ADDR") or None
