"""A patient's own language on the public pages they open from a text (the pay link,
the booking site's manage link): their preferred language, unless the person at the
screen chose one with the page's chooser (its cookie) or is signed-in staff."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation


def use_patient_language(request: HttpRequest, language: str) -> None:
    """Activates `language` (a patient's preferred_language) for the rest of the request
    when nobody at the screen has chosen another; an empty or unknown code changes
    nothing (the browser's language, else the clinic's)."""
    if language not in dict(settings.LANGUAGES):
        return
    if settings.LANGUAGE_COOKIE_NAME in request.COOKIES or request.user.is_authenticated:
        return
    translation.activate(language)
    request.LANGUAGE_CODE = language
