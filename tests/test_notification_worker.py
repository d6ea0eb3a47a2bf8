"""The real worker: `manage.py qcluster` processes on the test database. One, with the
periodic schedule the migration created, sends a due reminder to the fake Twilio;
two on one outbox (scale-out) send each of 300 due reminders exactly once.

The broker is the one the suite runs with: the ORM in the normal PostgreSQL run, and
Redis when CI runs this module again with Q_BROKER=redis (REDIS_URL on a scratch
database, which the scale-out test empties first). Both tests are in this one module
so that they run one after the other on one pytest-xdist worker: on Redis, clusters
started by two workers at once would share the queue, and the scale-out test's
emptying of the database would drop the other test's task."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path

import factory
import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_q.models import Schedule

from doctors.models import Weekday
from notifications.models import Notification, Status
from notifications.services import wake_worker
from online.models import WaitlistEntry, WaitlistOffer
from online.waitlist import join_waitlist, refill
from scheduling.models import Status as AppointmentStatus
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    NotificationFactory,
    PatientFactory,
    ServiceFactory,
    with_working_hours,
)
from tests.fakes import twilio as fake
from tests.fakes.server import Recorded, Reply
from tests.fakes.twilio import FakeTwilio, accept_message
from tests.helpers import COMMITTED_DATA, postgresql_only

pytestmark = [
    postgresql_only("The workers run in other processes; CI runs them against PostgreSQL"),
    COMMITTED_DATA,
]

BASE_DIR = Path(settings.BASE_DIR)
REMINDERS = 300
WAKE_UPS = 8


def test_a_qcluster_process_sends_a_due_reminder(fake_twilio, tmp_path):
    assert Schedule.objects.filter(func="notifications.tasks.dispatch_due").exists()
    patient = PatientFactory(phone="+12025550199")
    appointment = AppointmentFactory(
        patient=patient,
        starts_at=timezone.now() + timedelta(hours=2),
        status=AppointmentStatus.CONFIRMED,
    )
    reminder = NotificationFactory(
        patient=patient,
        appointment=appointment,
        template="appointment_reminder",
        body="Reminder: you see Dr Smith at 2 PM.",
        send_after=timezone.now() - timedelta(minutes=1),
        next_attempt_at=timezone.now() - timedelta(minutes=1),
    )

    log = tmp_path / "worker.log"
    worker = start_cluster(log, fake_twilio)
    try:
        # Nothing wakes this worker: only its scheduler's first round, which runs the
        # due dispatch schedule, can send the reminder.
        wait_until(lambda: sent(reminder), seconds=90, clusters=[worker])
    finally:
        stop(worker)

    output = log.read_text(errors="replace")
    assert sent(reminder), f"the reminder was not sent; worker output:\n{output}"
    [message] = fake_twilio.messages
    assert (message["To"], message["Body"]) == (
        "+12025550199",
        "Reminder: you see Dr Smith at 2 PM.",
    )
    reminder.refresh_from_db()
    assert reminder.provider_message_id.startswith("SM")


def test_a_qcluster_process_passes_a_lapsed_waitlist_offer_on(fake_twilio, tmp_path):
    """The worker's minute schedule (online migration 0002) finds an offer whose hold
    lapsed, holds the time for the next waiter and texts both of them."""
    assert Schedule.objects.filter(func="online.tasks.pass_on_lapsed_offers").exists()
    doctor = with_working_hours(
        DoctorFactory(), *Weekday, starts=time_of_day(8), ends=time_of_day(18)
    )
    service = ServiceFactory(code="wait-consult", duration_minutes=30)
    day = timezone.localdate() + timedelta(days=7)
    starts_at = datetime.combine(day, time_of_day(10), tzinfo=timezone.get_current_timezone())
    first, second = (
        join_waitlist(
            patient=PatientFactory(phone=phone),
            service=service,
            doctor=None,
            date_from=day,
            date_to=day,
            source=WaitlistEntry.Source.DESK,
        )
        for phone in ("+12025550131", "+12025550132")
    )
    [offer] = refill(doctor=doctor, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=30))
    WaitlistOffer.objects.filter(pk=offer.pk).update(expires_at=timezone.now())

    log = tmp_path / "worker.log"
    worker = start_cluster(log, fake_twilio)
    try:
        wait_until(
            lambda: second.offers.filter(status=WaitlistOffer.Status.OPEN).exists(),
            seconds=90,
            clusters=[worker],
        )
    finally:
        stop(worker)

    output = log.read_text(errors="replace")
    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.EXPIRED, output
    assert first.patient.notifications.filter(template="waitlist_offer_lapsed").exists()
    assert second.patient.notifications.filter(template="waitlist_offer").exists()


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
    with transaction.atomic():  # One commit rather than 300.
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
        wait_until(lambda: all(running(log) for log in logs), seconds=30, clusters=clusters)
        # Wake both clusters now, as a burst of bookings would, so both dispatch at
        # the same time.
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


def cluster_environment(fake_twilio: FakeTwilio) -> dict[str, str]:
    """A worker host's environment: this test database, this run's broker, the fake
    Twilio."""
    database = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}",
        # The broker of this run: the ORM, or Redis in CI's Redis step.
        "Q_BROKER": settings.Q_BROKER,
        "REDIS_URL": settings.Q_CLUSTER.get("redis", ""),
        # The scheduler's first round comes right after the cluster starts instead of
        # 30 seconds later (clinic/settings.py, "guard_cycle").
        "Q_GUARD_CYCLE": "30",
        "TWILIO_ACCOUNT_SID": fake.ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": fake.AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": fake.FROM_NUMBER,
        "TWILIO_API_BASE_URL": fake_twilio.url,
        "PUBLIC_BASE_URL": "https://clinic.example.test",
        # The test must not depend on the hour CI runs at.
        "NOTIFICATIONS_QUIET_HOURS": "",
        "SECRET_KEY": "insecure-test-only-key",
        "DEBUG": "false",
    }


def start_cluster(log: Path, fake_twilio: FakeTwilio) -> subprocess.Popen:
    """`manage.py qcluster` in a session of its own, its output in `log`."""
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=BASE_DIR,
            env=cluster_environment(fake_twilio),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(cluster: subprocess.Popen) -> None:
    """Stop the cluster and its worker processes as a service manager would."""
    cluster.send_signal(signal.SIGTERM)  # The cluster stops its own workers.
    try:
        cluster.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait()


def running(log: Path) -> bool:
    """The cluster has said it runs (django-q logs "Q Cluster <name> [clinic] running.")."""
    return "] running." in log.read_text(errors="replace")


def wait_until(
    condition: Callable[[], bool], *, seconds: float, clusters: list[subprocess.Popen]
) -> None:
    """Polls `condition` until it holds or `seconds` have passed; every cluster must
    keep running meanwhile."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        for cluster in clusters:
            assert cluster.poll() is None, "a cluster stopped"
        time.sleep(0.2)


def sent(notification: Notification) -> bool:
    notification.refresh_from_db()
    return notification.status == Status.SENT


def unsent():
    return Notification.objects.exclude(status=Status.SENT)


def slow(respond: Callable[[Recorded], Reply], *, seconds: float):
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
