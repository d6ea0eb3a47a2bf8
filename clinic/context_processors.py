from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def clinic(request: HttpRequest) -> dict[str, str]:
    """The clinic's name, for the page title and the nav."""
    return {"clinic_name": settings.CLINIC_NAME}
