"""Languages: each staff user's own (their StaffProfile, copied into the session at
sign-in so that a page costs no query for it) and the chooser that sets it.

LocaleMiddleware picks a visitor's language from the chooser's cookie or the browser;
StaffLanguageMiddleware, after authentication, puts a signed-in user's own on top.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from .models import StaffProfile

SESSION_KEY = "_staff_language"


def supported(code: str) -> bool:
    return code in dict(settings.LANGUAGES)


class StaffLanguageMiddleware:
    """Activates the signed-in user's language, kept in their session at sign-in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = request.session.get(SESSION_KEY, "") if hasattr(request, "session") else ""
        if language and supported(language) and request.user.is_authenticated:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


@receiver(user_logged_in, dispatch_uid="clinic.languages.login")
def use_own_language(sender, request, user, **kwargs) -> None:
    """At sign-in the user's own language (if they chose one) is the session's."""
    if request is None:
        return
    language = StaffProfile.objects.filter(user=user).values_list("language", flat=True).first()
    if language:
        request.session[SESSION_KEY] = language


@login_not_required
@require_POST
def choose_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language (the cookie, and back to `next`), and for a signed-in
    user their profile and session too, so the choice follows them to any browser."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if supported(language) and request.user.is_authenticated:
        StaffProfile.objects.update_or_create(user=request.user, defaults={"language": language})
        request.session[SESSION_KEY] = language
    return response
