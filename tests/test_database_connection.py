"""The clinic's PostgreSQL backend (clinic/postgresql): the kept connection's health
check (no round trip for a healthy connection, a reconnect for one the server has
closed) and the baked queries' prepared statements."""

from __future__ import annotations

import select
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections

from clinic.kernel.baked import Baked
from scheduling.models import Service

from .factories import ServiceFactory
from .helpers import postgresql_only

pytestmark = [pytest.mark.django_db, postgresql_only("The backend is PostgreSQL's")]
# Through PgBouncer the server's connection is the pooler's, and nothing is prepared.
straight_to_the_server = pytest.mark.skipif(
    getattr(settings, "DATABASE_TRANSACTION_POOLER", False), reason="Behind a pooler"
)


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


@straight_to_the_server
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


@straight_to_the_server
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


SERVICE_BY_CODE = Baked(lambda *, code: Service.objects.filter(code=code), code=str)


def prepared_statements(wrapper) -> list[str]:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


@straight_to_the_server
def test_a_baked_query_is_prepared_once_and_answers_each_run_with_its_own_values():
    checkup, xray = ServiceFactory(code="CHK"), ServiceFactory(code="XRY")

    answers = [SERVICE_BY_CODE.run(code=code) for code in ("CHK", "XRY", "NONE", "CHK")]

    assert answers == [[checkup], [xray], [], [checkup]]
    [statement] = [s for s in prepared_statements(connection) if "scheduling_service" in s]
    assert '"scheduling_service"."code" = $1' in statement


def test_a_prepared_query_is_counted_and_logged_with_its_values(django_assert_num_queries):
    ServiceFactory(code="CHK")

    with django_assert_num_queries(1) as captured:
        SERVICE_BY_CODE.run(code="CHK")

    assert '"scheduling_service"."code" = \'CHK\'' in captured.captured_queries[0]["sql"]


def test_behind_a_transaction_pooler_nothing_is_prepared(kept):
    kept.close()
    kept.settings_dict = {**kept.settings_dict, "PREPARED_STATEMENTS": False}

    with kept.prepared_cursor() as cursor:
        cursor.execute("SELECT count(*) FROM scheduling_service WHERE code = %s", ["CHK"])

    assert kept.connection.prepare_threshold is None
    assert prepared_statements(kept) == []
