"""Django's PostgreSQL backend, with a health check that costs no round trip.

Connections are kept between requests (CONN_MAX_AGE) and checked before reuse
(CONN_HEALTH_CHECKS), so that a restarted database, a terminated backend or a
pooler's idle timeout costs a reconnect, not a failed request. Django checks with a
`SELECT 1` before each request's first query: a third round trip on every poll
whose answer takes two (clinic/kernel/polls.py), and one more on every booking.

Between requests a healthy connection has nothing to read: PostgreSQL (or PgBouncer)
only speaks when asked, except to say that it is closing the connection, and a
closed socket reads at once. So the check looks at the socket, without waiting:
readable, or not open and idle, is unusable, and the connection is closed (the
request's first query opens another). What it cannot see, a peer gone without a
word (no FIN), a `SELECT 1` would only wait for too. After an error in a request
Django still asks `is_usable()`, the real query, before keeping the connection.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg.pq import ConnStatus, TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    # Django's own (BaseDatabaseWrapper), which django-stubs does not declare.
    health_check_done: bool

    def close_if_health_check_failed(self) -> None:
        # As Django's, but for the check itself (the pool checks its own connections).
        if (
            self.connection is None
            or not self.settings_dict["CONN_HEALTH_CHECKS"]
            or self.health_check_done
            or self.pool
        ):
            return
        if not self.open_and_quiet():
            self.close()
        self.health_check_done = True

    def open_and_quiet(self) -> bool:
        """Whether the connection is open, idle, and has nothing waiting to be read."""
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        pgconn = connection.pgconn
        if pgconn.status != ConnStatus.OK:
            return False
        if pgconn.transaction_status != TransactionStatus.IDLE:
            # Inside a transaction (not between requests): ask, as Django does.
            return self.is_usable()
        try:
            readable, _, _ = select.select([pgconn.socket], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable
