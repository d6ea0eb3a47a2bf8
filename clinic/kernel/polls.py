"""Polls that cost nothing: a polled fragment answers an unchanged poll with
304 Not Modified.

Each polled view names a marker: a function of the request that reads, in at most
two small queries, exactly what the fragment shows (the columns of its rows, not a
timestamp that a `save(update_fields=...)` or a queryset `update()` may leave
behind). The ETag is a digest of that marker and of everything else the HTML
depends on: the user, their CSRF secret (the fragment's forms carry a token), the
language, the clinic's time format and the fragment's templates (a deploy that
changes them changes the tag). So a 304 never hides a change, and a changed poll
costs the marker's queries once more than before.

The answer is `Cache-Control: private, no-cache` with the ETag: the browser keeps
the fragment in its own cache, asks again every time (htmx's XHR carries the
If-None-Match from that cache), and reuses its copy on a 304. `Vary: HX-Request`
keeps a fragment and the full page at the same address apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from functools import cache, wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import get_language
from django.views.decorators.http import condition

# What a marker returns: anything with a stable repr (tuples of column values), or
# None when the request gets no conditional answer (then the view just renders).
Marker = Callable[..., object | None]


def polled(marker: Marker, *, templates: Iterable[str] = ()) -> Callable:
    """Decorate a function view (or a class view's `get`, via method_decorator) so an
    unchanged poll gets 304 from `marker(request, *args, **kwargs)`."""
    template_names = tuple(templates)

    def etag(request: HttpRequest, *args: Any, **kwargs: Any) -> str | None:
        # No CSRF secret yet: the render makes one, and its forms' tokens with it,
        # so this answer is not one to keep (the page around a fragment makes it).
        if not request.META.get("CSRF_COOKIE"):
            return None
        marked = marker(request, *args, **kwargs)
        if marked is None:
            return None
        return fragment_etag(request, marked, template_names)

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        conditional = condition(etag_func=etag)(view)

        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = conditional(request, *args, **kwargs)
            if response.has_header("ETag"):
                patch_cache_control(response, private=True, no_cache=True)
            patch_vary_headers(response, ["HX-Request"])
            return response

        return wrapped

    return decorator


def fragment_etag(request: HttpRequest, marked: object, templates: tuple[str, ...] = ()) -> str:
    """The quoted ETag of a fragment whose data is `marked`, for this request's user."""
    user = getattr(request, "user", None)
    parts = (
        getattr(user, "pk", None),
        request.META["CSRF_COOKIE"],
        get_language(),
        settings.CLINIC_TIME_FORMAT,
        settings.TIME_ZONE,
        templates_digest(templates),
        marked,
    )
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
    return f'"{digest}"'


@cache
def templates_digest(names: tuple[str, ...]) -> str:
    """A digest of the templates' sources, read once per process."""
    sources = hashlib.blake2b(digest_size=8)
    for name in names:
        template = engines["django"].get_template(name)
        sources.update(template.template.source.encode())  # type: ignore[attr-defined]
    return sources.hexdigest()
