"""The kept database connection's health check (clinic/postgresql): no round trip for
a healthy connection, a reconnect for one the server has closed."""

from __future__ import annotations

import select
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection, connections

from .helpers import postgresql_only

pytestmark = [pytest.mark.django_db, postgresql_only("The backend is PostgreSQL's")]


@pytest.fixture
def kept():
    """A connection of its own, as a web process keeps it between requests."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def next_request(wrapper) -> None:
    """What Django does for a kept connection when a request starts (request_started,
    close_old_connections): the next query checks its health first."""
    wrapper.close_if_unusable_or_obsolete()


@contextmanager
def queries_sent(wrapper) -> Iterator[list[str]]:
    """The queries the client sends meanwhile, read from libpq's trace of the protocol."""
    sent: list[str] = []
    with tempfile.NamedTemporaryFile("r", suffix=".trace") as trace:
        wrapper.connection.pgconn.trace(trace.fileno())
        try:
            yield sent
        finally:
            wrapper.connection.pgconn.untrace()
        lines = Path(trace.name).read_text().splitlines()
    # Frontend (client) messages: date, "F", length, type, content.
    sent.extend(line.split("\t")[4] for line in lines if line.split("\t")[1:4:2] == ["F", "Query"])


def test_the_check_sends_nothing_for_a_healthy_connection(kept):
    assert kept.health_check_enabled
    pid = backend_pid(kept)

    with queries_sent(kept) as sent:
        next_request(kept)
        with kept.cursor() as cursor:
            cursor.execute("SELECT 2")

    assert kept.health_check_done
    assert sent == [' "SELECT 2"']
    assert backend_pid(kept) == pid


def test_a_connection_the_server_closed_is_replaced_before_the_first_query(kept):
    pid = backend_pid(kept)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    # The backend says goodbye and exits a moment after the signal.
    select.select([kept.connection.pgconn.socket], [], [], 10)

    next_request(kept)
    with kept.cursor() as cursor:  # Would raise on the dead connection.
        cursor.execute("SELECT pg_backend_pid()")
        replaced = cursor.fetchone()[0]

    assert replaced != pid


def test_inside_a_transaction_the_check_asks_the_server(kept):
    kept.set_autocommit(False)
    try:
        with kept.cursor() as cursor:
            cursor.execute("SELECT 1")

        with queries_sent(kept) as sent:
            usable = kept.open_and_quiet()
    finally:
        kept.rollback()
        kept.set_autocommit(True)

    assert usable
    assert sent == [' "SELECT 1"']
