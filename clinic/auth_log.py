"""Sign-ins, sign-outs, failed sign-ins and lockouts, one record each on "clinic.auth".

Each record carries the event, the user's id, the client's address and, for a
failed sign-in or a lockout, the username that was tried. Never a password, never
patient data. The receivers are connected by `ClinicConfig.ready`.

The client's address comes from clinic.kernel.http.client_ip, which django-axes uses
too (AXES_CLIENT_IP_CALLABLE), and the tried username is read here for axes as well
(AXES_USERNAME_CALLABLE), so a lockout and its log record always name the same ones.
"""

from __future__ import annotations

import logging

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from .kernel.http import client_ip

logger = logging.getLogger("clinic.auth")

# A username field's length: anything longer was not a username.
USERNAME_MAX_LENGTH = 150


def attempted_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """The username django-axes records for a sign-in attempt, cut to what a username
    can be.

    Axes 8.3 stores the name as typed, and one longer than its 255-character column
    made PostgreSQL refuse the insert and the login page answer 500
    (jazzband/django-axes#1381). Otherwise as axes reads it: from the credentials,
    else from the posted form.
    """
    field = get_user_model().USERNAME_FIELD
    username = credentials.get(field) if credentials else request.POST.get(field)
    return _tried_username(username)


def _ip(request: HttpRequest | None) -> str | None:
    return client_ip(request) if request is not None else None


def _user_id_for(username: str | None) -> int | None:
    """The id of the user with this username, if there is one."""
    if not username:
        return None
    User = get_user_model()
    return (
        User.objects.filter(**{User.USERNAME_FIELD: username}).values_list("pk", flat=True).first()
    )


def _tried_username(username: object) -> str | None:
    return str(username)[:USERNAME_MAX_LENGTH] if username is not None else None


@receiver(user_logged_in, dispatch_uid="clinic.auth_log.login")
def log_login(sender, request: HttpRequest | None, user, **kwargs) -> None:
    logger.info("login", extra={"event": "login", "user_id": user.pk, "ip": _ip(request)})


@receiver(user_logged_out, dispatch_uid="clinic.auth_log.logout")
def log_logout(sender, request: HttpRequest | None, user, **kwargs) -> None:
    user_id = user.pk if user is not None else None
    logger.info("logout", extra={"event": "logout", "user_id": user_id, "ip": _ip(request)})


@receiver(user_login_failed, dispatch_uid="clinic.auth_log.login_failed")
def log_login_failed(
    sender, credentials: dict, request: HttpRequest | None = None, **kwargs
) -> None:
    # Django has already masked the password in `credentials`; only the name is read.
    username = _tried_username(credentials.get(get_user_model().USERNAME_FIELD))
    logger.warning(
        "login_failed",
        extra={
            "event": "login_failed",
            "user_id": _user_id_for(username),
            "username": username,
            "ip": _ip(request),
        },
    )


@receiver(user_locked_out, dispatch_uid="clinic.auth_log.locked_out")
def log_locked_out(
    sender, request: HttpRequest | None, username: str | None, ip_address: str | None, **kwargs
) -> None:
    username = _tried_username(username)
    logger.warning(
        "locked_out",
        extra={
            "event": "locked_out",
            "user_id": _user_id_for(username),
            "username": username,
            "ip": ip_address,
        },
    )
