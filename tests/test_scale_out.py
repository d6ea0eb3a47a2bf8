"""Scale-out: two `manage.py qcluster` processes on one database dispatch the same
outbox at once, and every patient still gets each message exactly once.

The broker is the one the suite runs with: the ORM in the normal PostgreSQL run, and
Redis when CI runs this module again with Q_BROKER=redis (REDIS_URL on a scratch
database, which this test empties first)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import factory
import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from notifications.models import Notification, Status
from notifications.services import wake_worker
from scheduling.models import Status as AppointmentStatus
from tests.factories import AppointmentFactory, NotificationFactory, PatientFactory
from tests.fakes.server import Recorded, Reply
from tests.fakes.twilio import accept_message
from tests.test_notification_worker import BASE_DIR, stop, worker_environment

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="The workers run in other processes; CI runs them against PostgreSQL",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("migrated_data_restored"),
]

REMINDERS = 300
WAKE_UPS = 8


def test_two_clusters_send_each_due_reminder_exactly_once(fake_twilio, tmp_path):
    empty_redis_queue()
    # A little latency, as a real provider has, so both clusters are mid-batch at once.
    fake_twilio.respond = slow(accept_message, seconds=0.01)
    patient = PatientFactory(phone="+12025550188")
    appointment = AppointmentFactory(
        patient=patient,
        starts_at=timezone.now() + timedelta(hours=2),
        status=AppointmentStatus.CONFIRMED,
    )
    due = timezone.now() - timedelta(minutes=1)
    NotificationFactory.create_batch(
        REMINDERS,
        patient=patient,
        appointment=appointment,
        template="appointment_reminder",
        body=factory.Sequence(lambda n: f"Reminder {n}: you see Dr Smith at 2 PM."),
        send_after=due,
        next_attempt_at=due,
    )

    logs = [tmp_path / "cluster-1.log", tmp_path / "cluster-2.log"]
    clusters = [start_cluster(log, fake_twilio) for log in logs]
    try:
        wait_until(lambda: all(running(log) for log in logs), seconds=30)
        # The clusters' scheduler first runs 30 s after they start; wake them now, as
        # a burst of bookings would, so both dispatch at the same time.
        for _ in range(WAKE_UPS):
            wake_worker()
        wait_until(lambda: not unsent().exists(), seconds=90, clusters=clusters)
    finally:
        for cluster in clusters:
            stop(cluster)

    output = "\n".join(log.read_text(errors="replace") for log in logs)
    assert not unsent().exists(), f"messages left unsent; cluster output:\n{output}"
    bodies = Counter(message["Body"] for message in fake_twilio.messages)
    assert sum(bodies.values()) == REMINDERS
    assert set(bodies) == set(Notification.objects.values_list("body", flat=True))
    assert set(bodies.values()) == {1}, "a reminder was sent twice"
    assert Notification.objects.filter(status=Status.SENT, attempts=1).count() == REMINDERS


def start_cluster(log, fake_twilio) -> subprocess.Popen:
    environment = {
        **worker_environment(fake_twilio),
        # The broker this suite runs with, rather than the ORM that module pins.
        "Q_BROKER": settings.Q_BROKER,
        "REDIS_URL": settings.Q_CLUSTER.get("redis", ""),
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=BASE_DIR,
        env=environment,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def running(log) -> bool:
    """The cluster has said it runs (django-q logs "Q Cluster <name> [clinic] running.")."""
    return "] running." in log.read_text(errors="replace")


def wait_until(condition, *, seconds: float, clusters=()) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        for cluster in clusters:
            assert cluster.poll() is None, "a cluster stopped"
        time.sleep(0.2)


def unsent():
    return Notification.objects.exclude(status=Status.SENT)


def slow(respond, *, seconds: float):
    def respond_slowly(request: Recorded) -> Reply:
        time.sleep(seconds)
        return respond(request)

    return respond_slowly


def empty_redis_queue() -> None:
    """With the Redis broker, start from an empty scratch database: tasks left by an
    earlier run would be picked up by these clusters."""
    if settings.Q_BROKER != "redis":
        return
    client = redis.from_url(settings.Q_CLUSTER["redis"])
    if client.connection_pool.connection_kwargs.get("db", 0) == 0:
        pytest.fail("Point REDIS_URL at a scratch database (e.g. /15): this test empties it.")
    client.flushdb()
