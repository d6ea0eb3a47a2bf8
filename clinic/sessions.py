"""Sessions that bring their user: the session row, the signed-in user and the user's
permissions in one query.

Django reads a signed-in request's session (one query), then its user (another), and
a permission check reads the user's own and their groups' permissions (two more).
Here the session's table (clinic.models.StaffSession) keeps the user's id in a
column, so loading the session reads the user and the names of their permissions
with it. Django's own code still decides who is signed in (auth.get_user: the
backend named in the session, an active user, the session's hash of the password):
SessionUserBackend only hands it the row already read instead of reading it again,
and only for the request whose session read it (SessionUserMiddleware). Nothing is
kept between requests, so a change to the user, their groups or permissions counts
at their next request, as with Django's own sessions.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.contrib import auth
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.backends import db
from django.db import router
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from .kernel.baked import Baked
from .kernel.users import User
from .models import StaffSession
from .tokens import keep_permissions, permission_names

# The session store of the request whose user auth.get_user is finding, set only
# while it does (SessionUserMiddleware).
_finding_user_of: ContextVar[SessionStore | None] = ContextVar("finding_user_of", default=None)


# A session, its user and the user's permissions (one query, clinic/kernel/baked.py:
# every signed-in request and every poll makes it).
SESSION_WITH_USER: Baked[StaffSession] = Baked(
    lambda *, key, now: (
        StaffSession.objects.select_related("user")
        .annotate(permission_names=Subquery(permission_names(OuterRef("user_id"))))
        .filter(session_key=key, expire_date__gt=now)
    ),
    key=str,
    now=datetime,
)


class SessionStore(db.SessionStore):
    """The database session store, on StaffSession, reading the user with the row."""

    # The user read with the session, with their permissions; None before loading,
    # or without a signed-in user.
    user: User | None = None

    @classmethod
    def get_model_class(cls) -> type[StaffSession]:
        return StaffSession

    def _get_session_from_db(self) -> StaffSession | None:
        # Django's own (backends/db.py), with the user and their permissions.
        self.user = None
        found = SESSION_WITH_USER.run(
            key=self.session_key or "", now=timezone.now(), using=self._using()
        )
        if not found:
            self._session_key = None
            return None
        row: StaffSession = found[0]
        if row.user is not None:
            # The query's annotation (SESSION_WITH_USER), which the model does not declare.
            keep_permissions(row.user, row.permission_names)  # type: ignore[attr-defined]
            self.user = row.user
        return row

    def _using(self) -> str:
        return router.db_for_read(StaffSession)

    def create_model_instance(self, data: dict[str, Any]) -> StaffSession:
        instance = super().create_model_instance(data)
        assert isinstance(instance, StaffSession)
        instance.user_id = _user_id(data.get(SESSION_KEY))
        return instance


def _user_id(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


class SessionUserBackend(ModelBackend):
    """Django's ModelBackend, which takes the user read with the session (when the
    session's user is the one asked for) instead of reading it again."""

    def get_user(self, user_id: Any) -> User | None:
        store = _finding_user_of.get()
        # Another session engine's store has no user read with it.
        user = getattr(store, "user", None)
        if user is not None and str(user.pk) == str(user_id):
            return user if self.user_can_authenticate(user) else None
        return super().get_user(user_id)


class SessionUserMiddleware(AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, whose request.user is found with the
    request's own session store at hand (for SessionUserBackend)."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(_user_finder(request))  # type: ignore[assignment]


def _user_finder(request: HttpRequest) -> Callable[[], Any]:
    def find() -> Any:
        if not hasattr(request, "_cached_user"):
            token = _finding_user_of.set(getattr(request, "session", None))
            try:
                request._cached_user = auth.get_user(request)  # type: ignore[attr-defined]
            finally:
                _finding_user_of.reset(token)
        return request._cached_user  # type: ignore[attr-defined]

    return find
