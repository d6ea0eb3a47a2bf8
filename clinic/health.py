"""/healthz: is this clinic able to work? For a load balancer, an uptime monitor or a
person after a deploy.

It checks that the database answers, that every migration is applied, that the
worker is alive (its heartbeat, clinic.tasks.heartbeat, is recent) and that the
outbox is not falling behind. It answers 200 when all is well and 503 otherwise,
always in JSON, without a login or a session, in a handful of queries.

`/healthz?scope=web` checks only what a web host needs to serve pages (the database
and the migrations): the one for a load balancer, which should not stop sending
requests to every web host because the worker is down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import Error as DatabaseError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Min, Q
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from notifications.models import Notification
from notifications.models import Status as NotificationStatus

from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)


@dataclass
class Check:
    ok: bool
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail, **self.data}


@login_not_required
@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    scope = request.GET.get("scope", "all")
    if scope not in SCOPES:
        return JsonResponse(
            {"status": "fail", "error": f"scope is one of: {', '.join(SCOPES)}."}, status=400
        )
    checks = run_checks(now=timezone.now(), web_only=scope == "web")
    healthy = all(check.ok for check in checks.values())
    return JsonResponse(
        {
            "status": "ok" if healthy else "fail",
            "checks": {name: check.as_json() for name, check in checks.items()},
        },
        status=200 if healthy else 503,
    )


SCOPES = ("all", "web")


def run_checks(*, now: datetime, web_only: bool = False) -> dict[str, Check]:
    checks: dict[str, Callable[[], Check]] = {
        "database": check_database,
        "migrations": check_migrations,
    }
    if not web_only:
        checks["worker"] = lambda: check_worker(now=now)
        checks["outbox"] = lambda: check_outbox(now=now)
    database = _guarded(checks.pop("database"))
    if not database.ok:
        unchecked = Check(False, "Not checked: the database does not answer.")
        return {"database": database, **dict.fromkeys(checks, unchecked)}
    return {"database": database, **{name: _guarded(check) for name, check in checks.items()}}


def _guarded(check: Callable[[], Check]) -> Check:
    """A database error fails the check instead of the page. Its message stays in
    the server's log: the endpoint is public."""
    try:
        return check()
    except DatabaseError as error:
        logger.warning("Health check failed on a database error", exc_info=True)
        return Check(False, f"The database refused the query ({type(error).__name__}).")


def check_database() -> Check:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return Check(True, "The database answers.")


def check_migrations() -> Check:
    """Code deployed ahead of `manage.py migrate` would fail on missing columns."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        return Check(False, f"{len(plan)} migrations are not applied.", {"pending": len(plan)})
    return Check(True, "All migrations are applied.", {"pending": 0})


def check_worker(*, now: datetime) -> Check:
    max_age = timedelta(minutes=settings.HEALTHZ_WORKER_MAX_AGE_MINUTES)
    beat = WorkerHeartbeat.objects.first()
    if beat is None:
        return Check(False, "The worker has never beaten: is `manage.py qcluster` running?")
    age = now - beat.beat_at
    data = {
        "last_beat_at": beat.beat_at.isoformat(),
        "age_seconds": int(age.total_seconds()),
        "host": beat.hostname,
    }
    if age > max_age:
        return Check(False, f"The worker's last heartbeat is older than {max_age}.", data)
    return Check(True, "The worker is running.", data)


def check_outbox(*, now: datetime) -> Check:
    """Messages the worker may send now (pending, their attempt time passed), and
    how long the oldest has waited; quiet hours and retries move that time on, so
    only a stuck or overrun worker lets it grow."""
    max_age = timedelta(minutes=settings.HEALTHZ_BACKLOG_MAX_AGE_MINUTES)
    backlog = Notification.objects.filter(
        status=NotificationStatus.PENDING, next_attempt_at__lte=now
    ).aggregate(
        due=Count("pk"),
        overdue=Count("pk", filter=Q(next_attempt_at__lt=now - max_age)),
        oldest=Min("next_attempt_at"),
    )
    oldest_age = int((now - backlog["oldest"]).total_seconds()) if backlog["oldest"] else 0
    data = {"due": backlog["due"], "overdue": backlog["overdue"], "oldest_age_seconds": oldest_age}
    if backlog["overdue"]:
        return Check(
            False, f"{backlog['overdue']} messages have waited longer than {max_age}.", data
        )
    return Check(True, "The outbox is keeping up.", data)
