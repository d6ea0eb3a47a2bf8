"""Django's PostgreSQL backend, with a health check that costs no round trip, and
prepared statements for the baked queries.

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

Parsing and planning a query is most of what PostgreSQL spends on the small ones
that every request makes: about 0.3 ms of the session's 0.4 (clinic/sessions.py),
as much for a poll's marker. `prepared_cursor()` sends its statement with its
parameters apart (psycopg's server-side binding) and prepared, once per connection;
after five runs PostgreSQL keeps one generic plan for it when that plan is as good
as the ones made for each run's values. Django's own cursors still bind on the
client (the ORM's SQL is written for that). clinic.kernel.baked runs its queries on
this cursor: their SQL is the same every time, their values plain ints, strings and
datetimes. A prepared statement lives in the server's session, so behind a pooler
in transaction mode (PgBouncer before 1.21) it must be off: the database's
PREPARED_STATEMENTS setting (False there; clinic/settings.py).
"""

from __future__ import annotations

import select
from typing import Any, Self, cast

import psycopg
from django.db.backends.postgresql import base, operations
from django.db.backends.utils import CursorWrapper
from psycopg.pq import ConnStatus, TransactionStatus

# psycopg prepares a query after this many runs of the same SQL on a cursor that
# binds on the server; only prepared_cursor()'s do, and they prepare at once.
_NEVER_OF_ITSELF = 2**31 - 1


class PreparingCursor(psycopg.Cursor):
    """A psycopg cursor that binds on the server and prepares every statement (once
    per connection: psycopg keeps the names of those it prepared)."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, **kwargs: Any
    ) -> Self:
        return super().execute(query, params, prepare=True, **kwargs)


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str:
        if isinstance(cursor, PreparingCursor):
            # Its parameters went apart from the SQL: the statement as it reads with
            # them (what the debug log and the tests' query counts show).
            try:
                return self.compose_sql(sql, params)
            except psycopg.DataError:  # A value that does not quote: the SQL alone.
                return sql
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
    # Django's own (BaseDatabaseWrapper), which django-stubs does not declare.
    health_check_done: bool

    def get_new_connection(self, conn_params: dict[str, Any]) -> psycopg.Connection[Any]:
        connection = super().get_new_connection(conn_params)
        if self.prepares_statements and connection.prepare_threshold is None:
            connection.prepare_threshold = _NEVER_OF_ITSELF
        return connection

    @property
    def prepares_statements(self) -> bool:
        return bool(self.settings_dict.get("PREPARED_STATEMENTS", True))

    def prepared_cursor(self) -> CursorWrapper:
        """A cursor, wrapped as Django wraps its own (query logging and counting,
        errors), whose statements are prepared; a plain one when PREPARED_STATEMENTS
        is off."""
        if not self.prepares_statements:
            return self.cursor()
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor = PreparingCursor(self.connection)
        # As Django's own cursor() wraps one (django-stubs types the argument as the
        # wrapper it makes).
        self.validate_thread_sharing()
        raw = cast(Any, cursor)
        return self.make_debug_cursor(raw) if self.queries_logged else self.make_cursor(raw)

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
