"""The JSON API, version 1 (django-ninja): the same services as the pages, another
entry point onto them, with no rule of its own.

Part of the composition root: each app declares its endpoints in its own `api.py` (a
ninja Router, built on clinic.kernel.api) and this module mounts them under /api/v1/,
authenticates, and turns every error into the one shape clinic.kernel.api describes.
A later /api/v2 is another NinjaAPI with its own routers and urls_namespace, next to
this one; nothing here changes for it.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
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

from .kernel.api import Conflict
from .kernel.errors import DomainError
from .tokens import user_for_token

# Domain errors whose status is not the default 422: what the clinic's state
# refuses (409) rather than what the input says.
CONFLICT_CODES = frozenset({"overlap", "invalid_transition", "busy", "already_exists"})


# --- Authentication ----------------------------------------------------------------


class BearerToken(HttpBearer):
    """`Authorization: Bearer clinic_...`, a token made in admin or by
    `manage.py create_api_token`."""

    def authenticate(self, request: HttpRequest, token: str) -> AbstractBaseUser | None:
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="Clinic API",
    version="1",
    description=(
        "Book and follow appointments, patients, sessions and invoices. Authenticate "
        "with `Authorization: Bearer <token>` (or a staff browser session with its "
        "CSRF token). Times are ISO 8601 with an offset; naive times are refused."
    ),
    urls_namespace="api-v1",
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


def urls():
    """The API's URL patterns. The API answers 401 in JSON itself, so the login
    middleware's redirect to the sign-in page must not apply to it."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback.login_required = False
    return patterns, app_name, namespace
