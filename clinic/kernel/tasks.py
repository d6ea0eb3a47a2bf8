"""Handing a task to the worker (django-q2) from inside the transaction of the change
it is about.

The task must not run before the change has committed, nor at all if it rolls back.
With the database as the queue (`Q_BROKER=orm`, the default), the task's row is
written in the change's own transaction, under a savepoint: it commits with the
change, in one commit instead of two (each waits for the disk: a booking's second
commit was a quarter of its time), and a rollback takes both. Redis is outside the
transaction, so there the task is sent once the transaction has committed. Either
way, a task that cannot be queued is logged and left: the change stands, and a
periodic task does the same work later (the outbox's dispatch round, the Stripe
reconciliation)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
from django_q.conf import Conf
from django_q.tasks import async_task

logger = logging.getLogger(__name__)


def queue_with_the_change(task: str, *args: Any, task_name: str) -> None:
    """Queue `task(*args)` for the worker as part of the current transaction (see
    above); outside one, at once."""
    if _queue_is(DEFAULT_DB_ALIAS) and transaction.get_connection().in_atomic_block:
        try:
            with transaction.atomic():  # A savepoint: a failed row leaves the change whole.
                async_task(task, *args, task_name=task_name)
        except Exception:
            logger.warning("Could not queue %s for the worker", task_name, exc_info=True)
        return
    transaction.on_commit(lambda: _queue_now(task, args, task_name), robust=True)


def _queue_is(alias: str) -> bool:
    """Whether django-q2's queue is a table of the database `alias`."""
    return alias == Conf.ORM


def _queue_now(task: str, args: tuple[Any, ...], task_name: str) -> None:
    try:
        async_task(task, *args, task_name=task_name)
    except Exception:
        logger.warning("Could not queue %s for the worker", task_name, exc_info=True)
