"""Who acts: the clinic's staff sign in as Django's own users (the default user
model), and the services name the person who acted with this type."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

__all__ = ["User", "staff_user"]


def staff_user(request: HttpRequest) -> User:
    """The signed-in user of a request. Every page needs a login (the login
    middleware) and every API call a token or a session, so this only refuses a
    request that slipped past both."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied
    return user
