"""The unread count behind the bell in the nav, on every page."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .selectors import unread_count


def inbox(request: HttpRequest) -> dict:
    """`inbox_unread_count` for signed-in users. Lazy: the count query runs only when
    a template shows it, and at most once per page; anonymous visitors cost nothing."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox_unread_count": SimpleLazyObject(lambda: unread_count(user=user))}
