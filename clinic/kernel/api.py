"""What every endpoint of the JSON API shares: the error shape, the permission check
and the acting user. The endpoints live in each app's `api.py` (a ninja Router);
clinic/api.py, the composition root, mounts them and turns errors into answers.

Every error has one shape: {"error": {"code": ..., "message": ..., "fields": ...,
"conflict": ...}} with a stable machine `code`.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Schema

from .api_types import ClinicTime
from .users import User


class Conflict(Schema):
    """What stands in the way of a change: the appointment (or hold) at that time."""

    id: int
    starts_at: ClinicTime
    ends_at: ClinicTime


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] | None = None
    conflict: Conflict | None = None


class ErrorOut(Schema):
    error: ErrorDetail


# The responses every operation may give, for the OpenAPI document.
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
STATE_ERRORS = {**ERRORS, 409: ErrorOut}


def acting_user(request: HttpRequest) -> User:
    """The user a request acts as: the token's owner, or the signed-in staff user."""
    return request.auth  # type: ignore[attr-defined]


def require(request: HttpRequest, *permissions: str) -> None:
    """The same role permissions as the pages: 403 without them."""
    if not acting_user(request).has_perms(permissions):
        raise PermissionDenied
