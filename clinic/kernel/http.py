"""Small helpers for views: is this an htmx request, and where did it come from."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from: the one place every audit row, sign-in
    record, lockout and request log line reads it.

    Behind TRUSTED_PROXY_COUNT proxies it is read from X-Forwarded-For: each proxy
    appends the address it was called from, so the entry that many places from the
    right is the one the outermost proxy saw. Entries further left were sent by the
    client and may be forged; a header too short for the proxies we trust means the
    request did not come through them, and REMOTE_ADDR is used. At 0 the header is
    ignored, as anyone can forge it.
    """
    remote_addr = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote_addr
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < proxies:
        return remote_addr
    try:
        return str(ipaddress.ip_address(forwarded[-proxies]))
    except ValueError:
        return remote_addr
