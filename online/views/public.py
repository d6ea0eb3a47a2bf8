"""What every page of the booking site shares: no sign-in, rate limits per client
address (and per phone where codes are texted or checked), the friendly 404 and 429
pages, and framing only by the clinic's own website (ONLINE_EMBED_ORIGINS)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps

from csp.decorators import csp_replace
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import format_html
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django_ratelimit import ALL  # type: ignore[import-untyped]
from django_ratelimit.core import is_ratelimited  # type: ignore[import-untyped]

from clinic.kernel.http import client_ip

from ..services import normalised_phone
from ..tokens import digest
from . import state

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]


# --- Rate limits (django-ratelimit over the cache: CACHES, RATELIMIT_USE_CACHE) ----


def rate(group: str, request: HttpRequest) -> str:
    """The rate of a limit, from settings.ONLINE_RATE_LIMITS (read per request, so
    a changed setting holds at once)."""
    return settings.ONLINE_RATE_LIMITS[group.removeprefix("online.")]


def by_address(group: str, request: HttpRequest) -> str:
    """The client's address, behind the trusted proxies (the one the logs show)."""
    return client_ip(request) or "unknown"


def by_typed_phone(group: str, request: HttpRequest) -> str:
    """The phone typed in the details form, where a code is asked for it."""
    return _phone_key(group, request, normalised_phone(request.POST.get("phone", "")))


def by_session_phone(group: str, request: HttpRequest) -> str:
    """The phone kept in the session, which a code is checked or sent again for:
    never a phone posted alongside, which a client could change every time."""
    return _phone_key(group, request, state.phone(request))


def _phone_key(group: str, request: HttpRequest, phone: str) -> str:
    """Keyed by a hash with the site's secret, so the cache holds no phone number.
    No phone: the address stands in for it."""
    if not phone:
        return "address:" + by_address(group, request)
    return digest(phone, purpose="ratelimit")


@dataclass(frozen=True)
class Limit:
    """At most ONLINE_RATE_LIMITS[group] requests (of `method`) per key."""

    group: str
    key: Callable[[str, HttpRequest], str]
    method: object = ALL


PAGES = Limit("pages", by_address)
# The views that text a code, and the one that checks it: per address and per phone.
CODES = (
    Limit("codes_per_address", by_address, "POST"),
    Limit("codes_per_phone", by_typed_phone, "POST"),
)
NEW_CODES = (
    Limit("codes_per_address", by_address, "POST"),
    Limit("codes_per_phone", by_session_phone, "POST"),
)
CHECKS = (
    Limit("checks_per_address", by_address, "POST"),
    Limit("checks_per_phone", by_session_phone, "POST"),
)


def over_limit(request: HttpRequest, limits: Sequence[Limit]) -> bool:
    """Counts this request against each limit; whether one is passed. A cache that
    does not answer (Redis down) lets the request through, logged: the codes' own
    limits (three an hour, five tries) are kept in the database and still hold."""
    try:
        passed = [
            is_ratelimited(
                request=request,
                group=f"online.{limit.group}",
                key=limit.key,
                rate=rate,
                method=limit.method,
                increment=True,
            )
            for limit in limits
        ]
    except Exception:
        logger.exception("Rate limits not counted: the cache did not answer")
        return False
    return any(passed)


# --- Every public page --------------------------------------------------------


def public_page(view: View | None = None, *, limits: Sequence[Limit] = ()):
    """A page of the booking site: open to anyone, never cached, limited per client
    address (and by `limits`), framable only by ONLINE_EMBED_ORIGINS. Past a limit
    it answers 429 with a page that says to wait."""

    def decorate(view: View) -> View:
        @wraps(view)
        def answer(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if over_limit(request, [PAGES, *limits]):
                response = too_many_requests(request)
            else:
                response = view(request, *args, **kwargs)
            return framable(request, response)

        return login_not_required(never_cache(answer))

    return decorate(view) if view is not None else decorate


def framable(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Let the clinic's own website frame the page (CSP frame-ancestors, which names
    origins, instead of X-Frame-Options, which cannot); nobody when none is set."""
    origins = list(settings.ONLINE_EMBED_ORIGINS)
    if not origins:
        return response

    # django-csp's per-view decorator and Django's exemption, applied to this answer.
    def answer(request: HttpRequest) -> HttpResponse:
        return response

    framed = csp_replace({"frame-ancestors": origins})(xframe_options_exempt(answer))(request)
    assert isinstance(framed, HttpResponse)
    return framed


def page(
    request: HttpRequest, template: str, context: dict | None = None, *, status: int = 200
) -> HttpResponse:
    """A booking site page, with the clinic's address and phone for its frame (the
    phone also as a link a phone can call, kept left to right in any language)."""
    clinic = {
        "clinic_address": settings.CLINIC_ADDRESS,
        "clinic_phone": settings.CLINIC_PHONE,
        "clinic_phone_link": phone_link(settings.CLINIC_PHONE),
    }
    return render(request, template, {**clinic, **(context or {})}, status=status)


def phone_link(phone: str) -> str:
    dialled = "".join(character for character in phone if character.isdigit() or character == "+")
    return format_html('<a href="tel:{}" dir="ltr">{}</a>', dialled, phone) if phone else ""


def not_found(request: HttpRequest, *, what: str = "") -> HttpResponse:
    """The friendly 404: a link that is unknown, expired or mistyped."""
    return page(request, "online/not_found.html", {"what": what}, status=404)


def too_many_requests(request: HttpRequest) -> HttpResponse:
    return page(request, "online/too_many.html", status=429)
