"""The real worker: a `manage.py qcluster` process on the test database, with the
periodic schedule the migration created, sends a due reminder to the fake Twilio."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule

from notifications.models import Status
from scheduling.models import Status as AppointmentStatus
from tests.factories import AppointmentFactory, NotificationFactory, PatientFactory
from tests.fakes import twilio as fake

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="The worker runs in another process; CI runs it against PostgreSQL",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("migrated_data_restored"),
]

BASE_DIR = Path(settings.BASE_DIR)


def worker_environment(fake_twilio) -> dict[str, str]:
    database = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}",
        # The broker of this run: the ORM, or Redis in CI's Redis step.
        "Q_BROKER": settings.Q_BROKER,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
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

    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=BASE_DIR,
        env=worker_environment(fake_twilio),
        stdout=(log := (tmp_path / "worker.log").open("wb")),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        # The cluster's scheduler first looks at the schedules 30 seconds after it
        # starts; the dispatch schedule is due, so that pass sends the reminder.
        deadline = time.monotonic() + 90
        while not sent(reminder) and time.monotonic() < deadline:
            time.sleep(0.5)
            assert worker.poll() is None, "the worker stopped"
    finally:
        stop(worker)
        log.close()

    output = (tmp_path / "worker.log").read_text()
    assert sent(reminder), f"the reminder was not sent; worker output:\n{output}"
    [message] = fake_twilio.messages
    assert (message["To"], message["Body"]) == (
        "+12025550199",
        "Reminder: you see Dr Smith at 2 PM.",
    )
    reminder.refresh_from_db()
    assert reminder.provider_message_id.startswith("SM")


def stop(worker: subprocess.Popen) -> None:
    """Stop the cluster and its worker processes as a service manager would."""
    worker.send_signal(signal.SIGTERM)  # The cluster stops its own workers.
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def sent(notification) -> bool:
    notification.refresh_from_db()
    return notification.status == Status.SENT
