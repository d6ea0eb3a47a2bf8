"""Data safety: `verify_database` checks a restored database against the counts taken
before its backup, and `purge_old_notifications` deletes old operational rows and
never clinical ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from uuid import uuid4

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django_q.models import Task

from clinic.management.commands.verify_database import table_counts
from clinic.models import StaffSession
from notifications.models import InboundMessage, Notification, Status
from online.models import ManageLink, PhoneCode
from online.services import request_code
from payments.models import StripeEvent
from records.audit import log_access
from tests.factories import (
    AppointmentFactory,
    ClinicalNoteFactory,
    InvoiceFactory,
    NotificationFactory,
    PatientFactory,
    PrescriptionFactory,
)

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL catalog checks"
)


def verify(*args: str) -> str:
    out = StringIO()
    call_command("verify_database", *args, stdout=out)
    return out.getvalue()


# --- verify_database -------------------------------------------------------------


def test_verify_database_prints_the_row_count_of_each_main_table():
    PatientFactory.create_batch(2)

    output = verify()

    assert any(line.split() == ["patients.patient", "2"] for line in output.splitlines())
    for table in ("scheduling.appointment", "records.clinicalnote", "records.accesslog"):
        assert table in output
    assert "Database OK." in output


def test_counts_written_before_a_backup_are_expected_of_the_same_data(tmp_path):
    PatientFactory.create_batch(3)
    counts = tmp_path / "counts.json"

    verify("--write", str(counts))
    output = verify("--expect", str(counts))

    assert json.loads(counts.read_text())["counts"]["patients.patient"] == 3
    assert f"Row counts match {counts}." in output


def test_a_restore_with_a_different_count_fails_verification(tmp_path):
    PatientFactory()
    counts = tmp_path / "counts.json"
    verify("--write", str(counts))
    PatientFactory()

    with pytest.raises(CommandError, match=r"patients\.patient: 1 rows expected, 2 found\."):
        verify("--expect", str(counts))


def test_a_file_that_is_not_a_counts_file_is_refused(tmp_path):
    counts = tmp_path / "counts.json"
    counts.write_text('{"patients.patient": 3}')

    with pytest.raises(CommandError, match="is not a counts file written by --write"):
        verify("--expect", str(counts))


def test_an_unapplied_migration_fails_verification():
    latest = MigrationRecorder.Migration.objects.filter(app="notifications").latest("name")
    latest.delete()

    with pytest.raises(CommandError, match=f"Migration notifications.{latest.name} is not applied"):
        verify()


def test_verify_database_exits_non_zero_with_the_reason(tmp_path):
    """What an operator sees after a bad restore: the reason and a failing exit code."""
    counts = tmp_path / "counts.json"
    counts.write_text(json.dumps({"counts": {"patients.patient": 999}}))

    finished = subprocess.run(
        [sys.executable, "manage.py", "verify_database", "--expect", str(counts)],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": database_url(), "SECRET_KEY": "insecure-test-only"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode != 0
    assert "patients.patient: 999 rows expected, 0 found." in finished.stderr


@postgresql_only
def test_a_constraint_left_not_validated_fails_verification():
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE patients_patient ADD CONSTRAINT restored_late CHECK (id > 0) NOT VALID"
        )

    with pytest.raises(CommandError, match="Constraint restored_late on patients_patient"):
        verify()


@postgresql_only
def test_a_missing_double_booking_constraint_fails_verification():
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE scheduling_appointment DROP CONSTRAINT appointment_no_doctor_overlap"
        )

    with pytest.raises(CommandError, match=r"appointment_no_doctor_overlap .* is missing"):
        verify()


@postgresql_only
def test_an_id_sequence_behind_the_rows_fails_verification():
    PatientFactory.create_batch(2)
    reset = "SELECT setval(pg_get_serial_sequence('patients_patient', 'id'), %s, %s)"
    with connection.cursor() as cursor:
        cursor.execute(reset, [1, False])
    try:
        with pytest.raises(CommandError, match="sqlsequencereset"):
            verify()
    finally:
        # Sequences ignore rollbacks: put it back for the tests that follow.
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(id) FROM patients_patient")
            cursor.execute(reset, [cursor.fetchone()[0], True])


def database_url() -> str:
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    return (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )


# --- purge_old_notifications ------------------------------------------------------


@pytest.fixture
def long_ago():
    """Rows created inside this block are 200 days old."""
    return time_machine.travel(timezone.now() - timedelta(days=200), tick=False)


def purge(*args: str) -> str:
    out = StringIO()
    call_command("purge_old_notifications", *args, stdout=out)
    return out.getvalue()


def test_purge_deletes_old_messages_in_a_final_status_only(long_ago):
    with long_ago:
        finished = [NotificationFactory(status=status) for status in FINAL]
        pending = NotificationFactory(status=Status.PENDING)
        sending = NotificationFactory(status=Status.SENDING)
    recent = NotificationFactory(status=Status.SENT)

    output = purge()

    assert not Notification.objects.filter(pk__in=[n.pk for n in finished]).exists()
    assert set(Notification.objects.values_list("pk", flat=True)) == {
        pending.pk,
        sending.pk,
        recent.pk,
    }
    assert "Deleted 5 outbox messages in a final status" in output


def test_purge_deletes_old_inbound_sms_processed_stripe_events_and_task_results(long_ago):
    with long_ago:
        InboundMessage.objects.create(message_sid="SMold", body="C")
        processed = stripe_event("evt_old_processed", processed_at=timezone.now())
        unprocessed = stripe_event("evt_old_waiting", processed_at=None)
        task_result(success=True)
        failed_task = task_result(success=False)
    recent_sms = InboundMessage.objects.create(message_sid="SMnew", body="YES")
    recent_task = task_result(success=True)

    output = purge()

    assert list(InboundMessage.objects.all()) == [recent_sms]
    assert set(StripeEvent.objects.all()) == {unprocessed}
    assert not StripeEvent.objects.filter(pk=processed.pk).exists()
    assert set(Task.objects.values_list("id", flat=True)) == {failed_task.id, recent_task.id}
    assert "Deleted 1 inbound SMS" in output
    assert "Deleted 1 processed Stripe events" in output
    assert "Deleted 1 successful worker task results" in output


def test_purge_never_touches_clinical_records_appointments_or_money(long_ago):
    with long_ago:
        note = ClinicalNoteFactory()
        PrescriptionFactory(session=note.session)
        InvoiceFactory()
        log_access(user=None, patient=note.session.patient, obj=note, action="read")
        NotificationFactory(
            patient=note.session.patient, appointment=note.session.appointment, status=Status.SENT
        )
    before = table_counts()

    purge()

    after = table_counts()
    assert after.pop("notifications.notification") == 0
    before.pop("notifications.notification")
    assert after == before
    assert before["records.accesslog"] == 1
    assert before["payments.invoice"] == 1


def test_a_dry_run_counts_and_deletes_nothing(long_ago):
    with long_ago:
        message = NotificationFactory(status=Status.DELIVERED)

    output = purge("--dry-run")

    assert "Would delete 1 outbox messages in a final status" in output
    assert Notification.objects.filter(pk=message.pk).exists()


def test_days_overrides_the_retention_settings(settings):
    settings.NOTIFICATIONS_RETENTION_DAYS = 180
    with time_machine.travel(timezone.now() - timedelta(days=10), tick=False):
        message = NotificationFactory(status=Status.SENT)

    purge()
    assert Notification.objects.filter(pk=message.pk).exists()

    purge("--days", "7")
    assert not Notification.objects.filter(pk=message.pk).exists()


@pytest.mark.parametrize("days", ["0", "-3", "1000000"])
def test_days_must_be_within_a_century(days):
    with pytest.raises(CommandError, match="--days takes 1 to 36500 days"):
        purge("--days", days)


FINAL = [Status.SENT, Status.DELIVERED, Status.FAILED, Status.SKIPPED, Status.CANCELLED]


def stripe_event(event_id: str, *, processed_at) -> StripeEvent:
    return StripeEvent.objects.create(
        event_id=event_id,
        type="checkout.session.completed",
        payload="{}",
        processed_at=processed_at,
        outcome=StripeEvent.Outcome.APPLIED if processed_at else StripeEvent.Outcome.PENDING,
    )


def task_result(*, success: bool) -> Task:
    now = timezone.now()
    return Task.objects.create(
        id=uuid4().hex,
        name=f"task-{uuid4().hex[:8]}",
        func="notifications.tasks.dispatch_due",
        started=now,
        stopped=now,
        success=success,
    )


def test_purge_forgets_the_booking_sites_codes_links_and_expired_sessions(
    db, time_machine, settings
):
    settings.NOTIFICATIONS_QUIET_HOURS = ""
    request_code(phone="+12025550123")
    Notification.objects.filter(template="phone_code").update(status=Status.SENT)
    over = AppointmentFactory(starts_at=timezone.now() - timedelta(days=3))
    ahead = AppointmentFactory(starts_at=timezone.now() + timedelta(days=3))
    old_link = ManageLink.objects.create(appointment=over, token_hash="a" * 64)
    live_link = ManageLink.objects.create(appointment=ahead, token_hash="b" * 64)
    StaffSession.objects.create(
        session_key="x" * 32, session_data=SessionBase().encode({}), expire_date=timezone.now()
    )
    time_machine.move_to(timezone.now() + timedelta(days=2), tick=False)

    purge()

    assert not PhoneCode.objects.exists()
    assert not Notification.objects.filter(template="phone_code").exists()
    assert list(ManageLink.objects.all()) == [live_link]
    assert not ManageLink.objects.filter(pk=old_link.pk).exists()
    assert not StaffSession.objects.exists()
