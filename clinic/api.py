"""The JSON API, version 1 (django-ninja): the same services as the pages, another
entry point onto them, with no rule of its own.

Part of the composition root: each app declares its endpoints in its own `api.py` (a
ninja Router, built on clinic.kernel.api) and this module mounts them under /api/v1/,
authenticates, and turns every error into the one shape clinic.kernel.api describes.
A later /api/v2 is another NinjaAPI with its own routers and urls_namespace, next to
this one; nothing here changes for it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, SessionAuth

from doctors.api import router as doctors
from patients.api import router as patients
from payments.api import router as payments
from scheduling.api import router as scheduling
from scheduling.api_catalogue import router as catalogue
from sessions_app.api import router as sessions

from .idempotency import HEADER as IDEMPOTENCY_HEADER
from .idempotency import WRITE_METHODS, idempotent
from .kernel.api import Conflict
from .kernel.errors import DomainError
from .kernel.users import User
from .tokens import token_for

# Domain errors whose status is not the default 422: what the clinic's state
# refuses (409) rather than what the input says.
CONFLICT_CODES = frozenset({"overlap", "invalid_transition", "busy", "already_exists"})


# --- Authentication ----------------------------------------------------------------


class BearerToken(HttpBearer):
    """`Authorization: Bearer clinic_...`, a token made in admin or by
    `manage.py create_api_token`."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        row = token_for(token)
        if row is None:
            return None
        # token_for read the user's permissions with the token: has_perms asks nothing.
        request.user = row.user
        return row.user


class ClinicAPI(NinjaAPI):
    """The API, whose OpenAPI document also describes the Idempotency-Key header
    that every write accepts (clinic/idempotency.py)."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        schema.setdefault("components", {}).setdefault("parameters", {})["IdempotencyKey"] = {
            "name": IDEMPOTENCY_HEADER,
            "in": "header",
            "required": False,
            "description": IDEMPOTENCY_DESCRIPTION,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        }
        for operations in schema["paths"].values():
            for method, operation in operations.items():
                if method.upper() in WRITE_METHODS:
                    operation.setdefault("parameters", []).append(
                        {"$ref": "#/components/parameters/IdempotencyKey"}
                    )
        return schema


def docs_for_staff(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The API's document and docs page: for a signed-in staff user or a valid token
    when DEBUG is off (they map every endpoint for whoever would probe them), unless
    API_DOCS_PUBLIC says the clinic publishes them."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if settings.DEBUG or settings.API_DOCS_PUBLIC or _staff_or_token(request):
            return view(request, *args, **kwargs)
        if request.path.endswith("openapi.json"):
            return _error(request, 401, "unauthenticated", "Send a valid API token.")
        return redirect_to_login(request.get_full_path())

    return guarded


def _staff_or_token(request: HttpRequest) -> bool:
    if request.user.is_authenticated:
        return True
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and token_for(token.strip()) is not None


IDEMPOTENCY_DESCRIPTION = (
    "Optional, on every POST and PATCH: a unique key of your own for this request "
    "(a UUID). A retry with the same key and the same request from the same token, "
    "within 24 hours, gets the first answer again (with `Idempotent-Replayed: true`) "
    "and does nothing twice; the same key with another request is refused with 422 "
    "`idempotency_key_reused`. Answers to invalid requests (400, 401, 403, 404, 422 "
    "`invalid`) and server errors are not kept, so a corrected request may reuse the key."
)

api = ClinicAPI(
    title="Clinic API",
    version="1",
    description=(
        "Book and follow appointments, patients, sessions and invoices. Authenticate "
        "with `Authorization: Bearer <token>` (or a staff browser session with its "
        "CSRF token). Times are ISO 8601 with an offset; naive times are refused."
    ),
    urls_namespace="api-v1",
    docs_decorator=docs_for_staff,
    # Staff browser sessions may call the API too; SessionAuth checks their CSRF token.
    auth=[BearerToken(), SessionAuth()],
)


def _error(request: HttpRequest, status: int, code: str, message: str, **extra) -> HttpResponse:
    detail = {"code": code, "message": message, **{k: v for k, v in extra.items() if v}}
    return api.create_response(request, {"error": detail}, status=status)


@api.exception_handler(NinjaValidationError)
def invalid_input(request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for problem in error.errors:
        # loc is ("body", "payload", "starts_at") or ("query", "date_from"): the
        # field is what a client named.
        location = [str(part) for part in problem.get("loc", ()) if part not in ("body", "payload")]
        name = ".".join(location[1:] if location[:1] in (["query"], ["path"]) else location)
        fields.setdefault(name or "__all__", []).append(problem.get("msg", "Invalid value."))
    return _error(request, 422, "invalid", "Some fields are invalid.", fields=fields)


@api.exception_handler(DomainError)
def refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    status = 409 if error.code in CONFLICT_CODES else 422
    if error.code == "forbidden":
        status = 403
    conflict = None
    if error.conflict is not None:
        # Through its schema, so that its times are in the clinic's zone as in every
        # other answer.
        conflict = Conflict.from_orm(error.conflict).model_dump()
    return _error(request, status, error.code, error.message, conflict=conflict)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthenticated", "Send a valid API token.")


@api.exception_handler(PermissionDenied)
def forbidden(request: HttpRequest, error: PermissionDenied) -> HttpResponse:
    return _error(request, 403, "forbidden", "Your role does not allow this.")


@api.exception_handler(Http404)
def not_found(request: HttpRequest, error: Exception) -> HttpResponse:
    return _error(request, 404, "not_found", "No such object.")


api.exception_handler(ObjectDoesNotExist)(not_found)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    code = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found"}
    return _error(request, error.status_code, code.get(error.status_code, "error"), str(error))


# --- Resources ---------------------------------------------------------------------

for router in (doctors, patients, catalogue, scheduling, sessions, payments):
    api.add_router("/", router)


def urls() -> tuple[list, str, str]:
    """The API's URL patterns, each honouring Idempotency-Key on its writes. The API
    answers 401 in JSON itself, so the login middleware's redirect to the sign-in
    page must not apply to it."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        assert isinstance(pattern, URLPattern)
        assert pattern.callback is not None
        pattern.callback = idempotent(pattern.callback)
        pattern.callback.login_required = False  # type: ignore[attr-defined]
    return patterns, app_name, namespace
