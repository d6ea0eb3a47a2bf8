"""API tokens: made once and shown once, stored as a SHA-256 hash, revocable.

A token reads `clinic_<prefix>_<secret>`: the prefix finds the row, the whole token
is compared by its hash in constant time. The secret has 256 bits of randomness,
so a fast hash is enough (there is nothing to guess by brute force)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import router
from django.db.models import F, Func, OuterRef, Q, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Concat
from django.utils import timezone

from .kernel.baked import Baked
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


# A token's row, its user and the user's permissions (one query, baked: every API
# request makes it; clinic/kernel/baked.py).
TOKEN_WITH_USER: Baked[ApiToken] = Baked(
    lambda *, prefix: (
        ApiToken.objects.active()
        .select_related("user")
        .filter(prefix=prefix)
        .annotate(permission_names=Subquery(permission_names(OuterRef("user_id"))))
        .order_by("pk")[:1]
    ),
    prefix=str,
)


def token_for(token: str) -> ApiToken | None:
    """The valid, unrevoked token row of an active user that `token` is, else None;
    notes that it was used. The row, its user and the user's permissions are read
    in one query (the permissions kept where has_perm looks, as read_permissions
    does)."""
    scheme, _, rest = token.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != SCHEME or not prefix or not secret:
        return None
    found = TOKEN_WITH_USER.run(prefix=prefix, using=router.db_for_read(ApiToken))
    row = found[0] if found else None
    if row is None or not hmac.compare_digest(row.key_hash, _hash(token)):
        return None
    keep_permissions(row.user, row.permission_names)
    # One write a minute at most, not one per request.
    now = timezone.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        row.last_used_at = now
    return row


class _JoinedDistinct(Func):
    """The distinct values of a subquery's rows joined by commas, as one value: an
    aggregate over the whole subquery, so not a Django Aggregate (which would group
    the subquery by its rows)."""

    function = "STRING_AGG"
    template = "%(function)s(DISTINCT %(expressions)s, ',')"
    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra):
        # SQLite's GROUP_CONCAT takes no separator with DISTINCT; its own is a comma.
        return super().as_sql(
            compiler,
            connection,
            function="GROUP_CONCAT",
            template="%(function)s(DISTINCT %(expressions)s)",
            **extra,
        )


def permission_names(user_id: OuterRef | int) -> QuerySet[Any, Any]:
    """The names ("app_label.codename") of a user's own and their groups'
    permissions, joined by commas (neither part ever holds one), as ModelBackend
    would read them in two queries.

    Written as two IN subqueries (the user's own permissions, their groups'), not as
    Permission's joins to both: PostgreSQL plans the chain of outer joins in about
    4 ms, these in under 1 (and the session's query, which every request makes,
    holds it)."""
    inner = OuterRef(user_id) if isinstance(user_id, OuterRef) else user_id
    own = User.user_permissions.through.objects.filter(user_id=inner)
    of_groups = Group.permissions.through.objects.filter(
        group_id__in=User.groups.through.objects.filter(
            user_id=OuterRef(inner) if isinstance(inner, OuterRef) else inner
        ).values("group_id")
    )
    return (
        Permission.objects.filter(
            Q(pk__in=own.values("permission_id")) | Q(pk__in=of_groups.values("permission_id"))
        )
        .order_by()
        .annotate(
            names=_JoinedDistinct(Concat(F("content_type__app_label"), Value("."), F("codename")))
        )
        .values("names")
    )


def read_permissions(user: User) -> None:
    """Read the user's permissions, their own and their groups', in one query, where
    Django's ModelBackend keeps them for the request (two queries otherwise)."""
    if not user.is_superuser:
        # One row, the aggregate's (first() would order it by a column it does not have).
        (row,) = permission_names(user.pk)
        keep_permissions(user, row["names"])


def keep_permissions(user: User, names: str | None) -> None:
    """Keep the permissions read as `names` where ModelBackend looks for them, so
    has_perm asks the database nothing more in this request. A superuser has them
    all; Django answers those without reading any."""
    if not user.is_superuser:
        user._perm_cache = set(names.split(",")) if names else set()  # type: ignore[attr-defined]


def user_for_token(token: str) -> User | None:
    """The active user a valid, unrevoked token belongs to, else None."""
    row = token_for(token)
    return row.user if row is not None else None


def revoke_token(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
