from __future__ import annotations

from django.db.models import QuerySet

from clinic.kernel.users import User

from .models import Session


def sessions_visible_to(user: User) -> QuerySet[Session]:
    """A doctor opens their own sessions; a manager (who reads clinical content but
    runs no session) any; everyone else none. Pages look sessions up here, so
    guessing an id finds nothing."""
    if user.has_perm("records.view_clinicalnote") and not user.has_perm(
        "sessions_app.change_session"
    ):
        return Session.objects.all()
    if user.has_perm("sessions_app.change_session"):
        return Session.objects.filter(doctor__user=user)
    return Session.objects.none()
