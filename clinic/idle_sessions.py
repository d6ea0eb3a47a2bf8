"""Idle sign-out: a signed-in session ends SESSION_COOKIE_AGE seconds after the
person's last request (static/js/session-timeout.js counts down the same time and
warns two minutes ahead).

A request moves the session's end by saving it, but not every request:
- a page's background polls (POLL_HEADER, set by hx-headers on the polling element)
  are not the person at the screen; otherwise an unattended screen that polls would
  never sign out;
- the end moves at most once a minute (ACTIVITY_RESOLUTION_SECONDS): a person's
  requests mostly come within a minute of each other, and each save is a write to
  the database. So the server may end a session up to a minute before the page's
  countdown does.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

POLL_HEADER = "X-Clinic-Poll"
ACTIVITY_RESOLUTION_SECONDS = 60
ACTIVITY_KEY = "_activity_at"


class IdleSessionMiddleware:
    """Notes the person's activity on their session. Sits inside SessionMiddleware,
    which saves a modified session on the way out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Only a signed-in session: an API call with a token, or a visitor, gets none.
        if POLL_HEADER not in request.headers and SESSION_KEY in request.session:
            note_activity(request.session)
        return response


def note_activity(session) -> None:
    """Mark the session modified (so saved, and its end moved) when its last mark is
    a minute old."""
    now = int(time.time())
    if now - session.get(ACTIVITY_KEY, 0) >= ACTIVITY_RESOLUTION_SECONDS:
        session[ACTIVITY_KEY] = now


@receiver(user_logged_in, dispatch_uid="clinic.idle_sessions.login")
def signing_in_is_activity(sender, request, user, **kwargs) -> None:
    if request is not None:
        note_activity(request.session)
