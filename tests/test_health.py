"""/healthz, as a load balancer and an uptime monitor call it, and the worker's
heartbeat that it reads.

The clock stands at Monday 30 November 2026, 12:00 in New York.
"""

from __future__ import annotations

import importlib
import socket
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import OperationalError, connection
from django.urls import reverse
from django_q.models import Schedule
from django_q.tasks import async_task

from clinic.models import WorkerHeartbeat
from notifications.models import Status
from tests.clock import MONDAY, at
from tests.factories import NotificationFactory

NOON = at(MONDAY, 12)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def noon(time_machine) -> None:
    time_machine.move_to(NOON, tick=False)


@pytest.fixture
def running_worker(db) -> None:
    """A worker that ran its heartbeat a minute ago."""
    WorkerHeartbeat.objects.create(
        pk=WorkerHeartbeat.SINGLE_ROW_ID, beat_at=NOON - timedelta(minutes=1), hostname="worker-1"
    )


def healthz(client):
    return client.get(reverse("healthz"))


def failed_checks(response) -> set[str]:
    return {name for name, check in response.json()["checks"].items() if not check["ok"]}


# --- Healthy ----------------------------------------------------------------------


def test_a_healthy_clinic_answers_200_with_every_check_ok(client, running_worker):
    response = healthz(client)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "migrations", "worker", "outbox"}
    assert failed_checks(response) == set()
    assert body["checks"]["migrations"]["pending"] == 0
    assert body["checks"]["worker"]["age_seconds"] == 60
    assert body["checks"]["worker"]["host"] == "worker-1"


def test_healthz_needs_no_login_and_sets_no_cookie(client, running_worker):
    response = healthz(client)

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert not response.cookies


def test_healthz_is_read_only(client, running_worker):
    assert client.post(reverse("healthz")).status_code == 405


def test_healthz_runs_a_bounded_number_of_queries(
    client, running_worker, django_assert_max_num_queries
):
    for _ in range(20):
        NotificationFactory(next_attempt_at=NOON - timedelta(minutes=2))

    # SELECT 1, the migrations table (2), the heartbeat, the outbox.
    with django_assert_max_num_queries(6):
        response = healthz(client)

    assert response.json()["checks"]["outbox"]["due"] == 20


# --- The worker ---------------------------------------------------------------------


def test_a_stale_heartbeat_answers_503(client, running_worker, time_machine):
    time_machine.move_to(NOON + timedelta(minutes=5), tick=False)

    response = healthz(client)

    assert response.status_code == 503
    assert response.json()["status"] == "fail"
    assert failed_checks(response) == {"worker"}
    assert response.json()["checks"]["worker"]["age_seconds"] == 6 * 60


def test_a_heartbeat_within_the_allowed_age_is_fine(client, running_worker, settings):
    settings.HEALTHZ_WORKER_MAX_AGE_MINUTES = 1

    assert healthz(client).status_code == 200


def test_no_heartbeat_at_all_answers_503(client):
    response = healthz(client)

    assert response.status_code == 503
    assert failed_checks(response) == {"worker"}
    assert "qcluster" in response.json()["checks"]["worker"]["detail"]


def test_the_heartbeat_task_records_the_time_and_host(db, time_machine):
    async_task("clinic.tasks.heartbeat", sync=True)
    time_machine.move_to(NOON + timedelta(minutes=1), tick=False)
    async_task("clinic.tasks.heartbeat", sync=True)

    [beat] = WorkerHeartbeat.objects.all()
    assert beat.beat_at == NOON + timedelta(minutes=1)
    assert beat.hostname == socket.gethostname()


def test_the_heartbeat_schedule_exists_once(db):
    migration = importlib.import_module("clinic.migrations.0006_heartbeat_schedule")
    migration.create_schedule(apps, None)  # As a second migrate would.

    [schedule] = Schedule.objects.filter(func="clinic.tasks.heartbeat")
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        Schedule.MINUTES,
        1,
        -1,
    )


# --- The outbox ---------------------------------------------------------------------


def test_a_message_due_for_too_long_answers_503(client, running_worker):
    NotificationFactory(next_attempt_at=NOON - timedelta(minutes=11))
    NotificationFactory(next_attempt_at=NOON - timedelta(minutes=3))

    response = healthz(client)

    assert response.status_code == 503
    assert failed_checks(response) == {"outbox"}
    outbox = response.json()["checks"]["outbox"]
    assert (outbox["due"], outbox["overdue"], outbox["oldest_age_seconds"]) == (2, 1, 11 * 60)


def test_messages_waiting_their_time_or_done_are_no_backlog(client, running_worker):
    NotificationFactory(next_attempt_at=NOON - timedelta(minutes=9))  # Due, not for long.
    NotificationFactory(next_attempt_at=NOON + timedelta(hours=8))  # After quiet hours.
    NotificationFactory(next_attempt_at=NOON - timedelta(days=2), status=Status.SENT)
    NotificationFactory(next_attempt_at=NOON - timedelta(days=2), status=Status.FAILED)

    response = healthz(client)

    assert response.status_code == 200
    outbox = response.json()["checks"]["outbox"]
    assert (outbox["due"], outbox["overdue"], outbox["oldest_age_seconds"]) == (1, 0, 9 * 60)


# --- The database ---------------------------------------------------------------------


def refuse_every_query(execute, sql, params, many, context):
    raise OperationalError("could not connect to server: Connection refused")


def test_a_database_that_does_not_answer_gives_503_in_json(client, running_worker):
    with connection.execute_wrapper(refuse_every_query):
        response = healthz(client)

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "fail"
    assert failed_checks(response) == {"database", "migrations", "worker", "outbox"}
    assert body["checks"]["database"]["detail"] == (
        "The database refused the query (OperationalError)."
    )
    assert "Connection refused" not in response.content.decode()  # Server details stay in the log.


# --- The web-only check, for load balancers ------------------------------------------


def test_the_web_check_passes_while_the_worker_is_down(client):
    # No heartbeat at all: the full check fails, the web host can still serve pages.
    assert healthz(client).status_code == 503

    response = client.get(reverse("healthz"), {"scope": "web"})

    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "migrations"}


def test_the_web_check_fails_when_the_database_does_not_answer(client):
    with connection.execute_wrapper(refuse_every_query):
        response = client.get(reverse("healthz"), {"scope": "web"})

    assert response.status_code == 503
    assert failed_checks(response) == {"database", "migrations"}


def test_an_unknown_scope_is_a_clear_error(client, db):
    response = client.get(reverse("healthz"), {"scope": "everything"})

    assert response.status_code == 400
    assert response.json()["error"] == "scope is one of: all, web."
