"""The worker's heartbeat, and one log line for every task the worker runs.

ClinicConfig.ready() imports this module, which connects the django-q2 signals.
"""

from __future__ import annotations

import logging
import socket
import time
from contextvars import Token
from typing import Any

from django.dispatch import receiver
from django.utils import timezone
from django_q.signals import post_execute_in_worker, pre_enqueue, pre_execute

from .idempotency import purge_expired
from .logging import LogContext, bind, current, unbind
from .models import WorkerHeartbeat

logger = logging.getLogger("clinic.task")

# The periodic schedule (migration 0006_heartbeat_schedule) names this function.
HEARTBEAT_TASK = "clinic.tasks.heartbeat"


def heartbeat() -> None:
    """Record that a worker is alive and running tasks (see /healthz)."""
    now, host = timezone.now(), socket.gethostname()
    row = WorkerHeartbeat.SINGLE_ROW_ID
    if not WorkerHeartbeat.objects.filter(pk=row).update(beat_at=now, hostname=host):
        # The first beat; two workers beating at once both land here, and one wins.
        WorkerHeartbeat.objects.bulk_create(
            [WorkerHeartbeat(pk=row, beat_at=now, hostname=host)], ignore_conflicts=True
        )


def purge_idempotency_keys() -> int:
    """Forget the kept answers of API writes older than IDEMPOTENCY_KEY_HOURS."""
    return purge_expired()


# --- The log line of every task ------------------------------------------------------

# A worker process runs one task at a time; the pre_execute signal leaves here what
# post_execute_in_worker needs, by task id.
_running: dict[str, tuple[Token, float]] = {}


@receiver(pre_enqueue)
def remember_who_queued(sender: Any, task: dict, **kwargs: Any) -> None:
    """The request (or task) that queued a task: its line names it, to follow an
    SMS back to the booking that caused it."""
    context = current()
    if context is not None:
        task.setdefault("queued_by", context.request_id)


@receiver(pre_execute)
def start_task_log(sender: Any, func: Any, task: dict, **kwargs: Any) -> None:
    # The task's id stands in for a request id on every line logged while it runs.
    _running[task["id"]] = (bind(LogContext(request_id=task["id"])), time.perf_counter())


@receiver(post_execute_in_worker)
def log_task(sender: Any, func: Any, task: dict, **kwargs: Any) -> None:
    """One line per task, in the worker process: `post_execute` itself is sent by
    the cluster's monitor process, which only knows when the task was queued."""
    token, started = _running.pop(task["id"], (None, None))
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    success = bool(task.get("success"))
    func_name = task["func"] if isinstance(task["func"], str) else _dotted(task["func"])
    logger.log(
        logging.INFO if success else logging.ERROR,
        "Task %s (%s) %s in %sms",
        func_name,
        task.get("name"),
        "succeeded" if success else "failed",
        duration_ms,
        extra={
            "task_id": task["id"],
            "task_name": task.get("name"),
            "func": func_name,
            "success": success,
            "duration_ms": duration_ms,
            "queued_by": task.get("queued_by"),
        },
    )
    if token is not None:
        unbind(token)


def _dotted(func: Any) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"
