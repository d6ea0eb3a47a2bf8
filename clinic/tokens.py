"""API tokens: made once and shown once, stored as a SHA-256 hash, revocable.

A token reads `clinic_<prefix>_<secret>`: the prefix finds the row, the whole token
is compared by its hash in constant time. The secret has 256 bits of randomness,
so a fast hash is enough (there is nothing to guess by brute force)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.contrib.auth.models import Permission
from django.db.models import Q
from django.utils import timezone

from .kernel.users import User
from .models import ApiToken

SCHEME = "clinic"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the token, which is never
    stored and cannot be shown again."""
    prefix = secrets.token_hex(6)
    token = f"{SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken.objects.create(user=user, name=name, prefix=prefix, key_hash=_hash(token))
    return row, token


def token_for(token: str) -> ApiToken | None:
    """The valid, unrevoked token row of an active user that `token` is, else None;
    notes that it was used."""
    scheme, _, rest = token.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != SCHEME or not prefix or not secret:
        return None
    row = ApiToken.objects.active().select_related("user").filter(prefix=prefix).first()
    if row is None or not hmac.compare_digest(row.key_hash, _hash(token)):
        return None
    # One write a minute at most, not one per request.
    now = timezone.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        row.last_used_at = now
    return row


def read_permissions(user: User) -> None:
    """Read the user's permissions, their own and their groups', in one query, where
    Django's ModelBackend keeps them for the request (two queries otherwise). A
    superuser has them all; Django reads those as it does."""
    if user.is_superuser:
        return
    names = (
        Permission.objects.filter(Q(user=user) | Q(group__user=user))
        .order_by()
        .values_list("content_type__app_label", "codename")
        .distinct()
    )
    user._perm_cache = {f"{app}.{codename}" for app, codename in names}  # type: ignore[attr-defined]


def user_for_token(token: str) -> User | None:
    """The active user a valid, unrevoked token belongs to, else None."""
    row = token_for(token)
    return row.user if row is not None else None


def revoke_token(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
