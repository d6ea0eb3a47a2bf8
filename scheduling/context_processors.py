"""The count of appointments that need rebooking, beside the list's link in the nav."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .rebooking import open_flag_count
from .views.rebooking import PERMISSION


def rebooking(request: HttpRequest) -> dict:
    """`rebooking_count` for those who work the list (reception and managers). Lazy:
    one query, only on a page that shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm(PERMISSION):
        return {}
    return {"rebooking_count": SimpleLazyObject(open_flag_count)}
