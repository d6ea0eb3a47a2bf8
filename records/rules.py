"""Who may write which clinical content: one predicate per rule, asked by the
services before they write and by the pages before they offer a form, so the two
never disagree."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from sessions_app.models import Session, SessionStatus

from .exceptions import Forbidden, RecordsError, SessionClosed


def session_write_refusal(
    *, session: Session, user: AbstractBaseUser | AnonymousUser
) -> RecordsError | None:
    """Why `user` may not write the session's note and prescriptions, or None when
    they may: only the session's doctor, until the session is completed (completion
    signs and locks them)."""
    if session.doctor.user_id is None or session.doctor.user_id != user.pk:
        return Forbidden(f"Only {session.doctor} can write this session's notes and prescriptions.")
    if session.status == SessionStatus.COMPLETED:
        return SessionClosed(
            "This session is completed and its records are signed; add an addendum instead."
        )
    return None


def can_write_session_records(*, session: Session, user: AbstractBaseUser | AnonymousUser) -> bool:
    return session_write_refusal(session=session, user=user) is None
