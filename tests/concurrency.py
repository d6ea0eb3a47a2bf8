"""Running attempts at the same moment, each on its own thread and connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
