"""Running attempts at the same moment, each on its own thread and connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def all_at_once(attempts: list[Callable[[], T]]) -> list[T | Exception]:
    """Runs every attempt in its own thread (and database connection), released
    together by a barrier; returns what each returned or raised."""
    barrier = threading.Barrier(len(attempts), timeout=60)

    def run(attempt: Callable[[], T]) -> T | Exception:
        try:
            barrier.wait()
            return attempt()
        except Exception as error:
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        return list(pool.map(run, attempts))


# Sessions waiting for a lock that this session holds. Asked from this side because
# the other connection's backend pid is not known behind a pooler (PgBouncer shows
# the client a pid of its own), while this session's is, inside its transaction.
# pg_stat_activity is a snapshot for the rest of a transaction once read, so each
# look clears it first.
WAITING_FOR_THIS_SESSION = """
    SELECT EXISTS (
        SELECT FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))
    )
"""


def waiting_on_this_transaction(pool: ThreadPoolExecutor, attempt: Callable[[], T]) -> Future[T]:
    """Starts the attempt on a connection of its own and returns once it waits for a
    lock held by the caller's open transaction (or has ended without waiting).
    PostgreSQL only; call inside transaction.atomic()."""

    def run() -> T:
        try:
            return attempt()
        finally:
            connection.close()

    started = pool.submit(run)
    deadline = time.monotonic() + 60
    with connection.cursor() as cursor:
        while not started.done():
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(WAITING_FOR_THIS_SESSION)
            if cursor.fetchone()[0]:
                break
            if time.monotonic() > deadline:
                raise AssertionError("The attempt neither waited for our lock nor ended.")
    return started
