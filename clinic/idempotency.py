"""Idempotent API writes: a client may send an `Idempotency-Key` header with any POST
or PATCH, as Stripe's API lets it. The first request with a key does the work and its
answer (status and body) is kept; a retry with the same key and the same request,
from the same token (or the same staff user's session), gets that answer back,
marked `Idempotent-Replayed: true`, without doing the work again. The same key with
another request is refused (422 `idempotency_key_reused`). Keys are kept for
IDEMPOTENCY_KEY_HOURS (24).

A booking widget whose connection drops after the server committed can then retry
safely instead of getting a 409 against its own booking.

What is kept is the answer of a request that reached the clinic's rules: a success,
or the rules' refusal (409, a 422 other than invalid input). An answer that changed
nothing because the request itself was wrong (400, 401, 403, 404, invalid fields) or
because the server failed (5xx) is not kept, so the client may fix it and retry
with the same key.

Two requests with one key at once take turns: the claim of the key is a row under a
unique constraint, inserted in the transaction that does the work, so the second
waits for the first to commit and then replays its answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from .models import IdempotentRequest
from .tokens import token_for

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
WRITE_METHODS = frozenset({"POST", "PATCH"})
# Printable ASCII without spaces, as Stripe takes it (a UUID is the usual choice).
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")

View = Callable[..., HttpResponse]


def idempotent(view: View) -> View:
    """Wrap one of the API's URL views: its writes honour `Idempotency-Key`."""

    @wraps(view)
    def answer(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None or request.method not in WRITE_METHODS:
            return view(request, *args, **kwargs)
        if not KEY_PATTERN.fullmatch(key):
            return _error(
                400,
                "bad_idempotency_key",
                f"{HEADER} is 1 to 255 printable characters without spaces (a UUID will do).",
            )
        scope = scope_of(request)
        if scope is None:
            return view(request, *args, **kwargs)  # The API answers 401 itself.
        return answer_once(
            request, scope=scope, key=key, run=lambda: view(request, *args, **kwargs)
        )

    return answer


def answer_once(
    request: HttpRequest, *, scope: str, key: str, run: Callable[[], HttpResponse]
) -> HttpResponse:
    """The kept answer to (scope, key), or `run()`'s, kept when it is worth keeping."""
    fingerprint = fingerprint_of(request)
    with transaction.atomic():
        claim, first = _claim(request, scope=scope, key=key, fingerprint=fingerprint)
        if not first:
            return _replay(claim, fingerprint)
        response = run()
        if _worth_keeping(response):
            claim.status_code = response.status_code
            claim.content_type = response.get("Content-Type", "")
            claim.body = response.content.decode()
            claim.save(update_fields=["status_code", "content_type", "body"])
        else:
            # The request changed nothing; the client may fix it and use the key again.
            transaction.set_rollback(True)
    return response


def scope_of(request: HttpRequest) -> str | None:
    """Who sent the request, as the API authenticates it: the API token, else the
    signed-in staff user (whose browser session the API also accepts)."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        row = token_for(credentials.strip())
        if row is not None:
            return f"token:{row.pk}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def fingerprint_of(request: HttpRequest) -> str:
    """What makes a request the same request: its method, path, query and body."""
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path()):
        digest.update(part.encode())
        digest.update(b"\n")
    digest.update(request.body)
    return digest.hexdigest()


def purge_expired(*, now: Any = None) -> int:
    """Delete the keys older than IDEMPOTENCY_KEY_HOURS; returns how many went."""
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=_oldest_kept(now)).delete()
    return deleted


def _claim(
    request: HttpRequest, *, scope: str, key: str, fingerprint: str
) -> tuple[IdempotentRequest, bool]:
    """Claim the key for this request (True), or find the request that has it
    (False). A claim still uncommitted by a concurrent request is not seen by the
    first read; this request's insert then waits at the unique index until that one
    ends, and finds its answer."""
    kept = IdempotentRequest.objects.filter(scope=scope, key=key).first()
    if kept is not None and kept.created_at >= _oldest_kept():
        return kept, False
    if kept is not None:
        kept.delete()  # Expired: the key starts afresh.
    try:
        with transaction.atomic():
            return (
                IdempotentRequest.objects.create(
                    scope=scope,
                    key=key,
                    fingerprint=fingerprint,
                    method=request.method or "",
                    path=request.path[:500],
                ),
                True,
            )
    except IntegrityError:
        return IdempotentRequest.objects.get(scope=scope, key=key), False


def _replay(claim: IdempotentRequest, fingerprint: str) -> HttpResponse:
    if claim.fingerprint != fingerprint:
        return _error(
            422,
            "idempotency_key_reused",
            f"This {HEADER} was sent with another request; use a new key for a new request.",
        )
    response = HttpResponse(claim.body, status=claim.status_code, content_type=claim.content_type)
    response[REPLAYED_HEADER] = "true"
    return response


def _worth_keeping(response: HttpResponse) -> bool:
    status = response.status_code
    if status < 400 or status == 409:
        return True
    if status != 422:
        return False
    # A 422 is the rules' refusal ("unavailable", "invalid_times", ...) unless its code
    # is "invalid": fields that failed validation before anything ran.
    try:
        code = json.loads(response.content)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return False
    return code != "invalid"


def _oldest_kept(now: Any = None) -> Any:
    return (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)


def _error(status: int, code: str, message: str) -> JsonResponse:
    """An error in the API's one shape (clinic.kernel.api)."""
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)
