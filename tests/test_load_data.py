"""The load-test generator (bench/generator/, `manage.py generate_load_data`):
its data obeys every rule the services keep, and it is repeatable and careful."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count

from bench.generator import NotEmpty, generate
from doctors.models import Doctor, TimeOff
from notifications.messages import appointment_context, render_message
from notifications.models import Channel, Notification
from notifications.models import Status as MessageStatus
from patients.models import Patient
from payments.models import Invoice, InvoiceCounter, PaymentStatus
from payments.services import refresh_totals
from records.models import ClinicalNote, PrescriptionItem
from scheduling.availability import local_day, working_windows
from scheduling.models import Appointment, Status
from sessions_app.models import SessionStatus

# Two doctors over three months that cross the start of daylight saving time in
# New York (8 March 2026), with a month still ahead of "now".
NOW = datetime(2026, 3, 10, 15, 7, tzinfo=UTC)
UNTIL = date(2026, 4, 9)
SIZE = {"doctors": 2, "years": 0.25, "until": UNTIL, "patients": 150, "now": NOW}


@pytest.fixture(scope="class")
def generated_clinic(django_db_setup, django_db_blocker) -> Iterator[dict[str, int]]:
    """The clinic, generated once for a class of tests that read it (it takes
    seconds), inside a transaction of the class's own: each test's `db` transaction
    nests in it, as a savepoint, and undoes what the test changed; this one is rolled
    back after the class's last test, so the tests after it find the database as the
    migrations left it (on PostgreSQL and SQLite alike, nothing is committed)."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
    try:
        with django_db_blocker.unblock():
            counts = generate(seed=7, **SIZE)
        yield counts
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def clinic(generated_clinic, db) -> dict[str, int]:
    return generated_clinic


class TestGeneratedClinic:
    """The clinic generated once (`generated_clinic`), read by each test."""

    def test_it_makes_a_clinic_in_every_status(self, clinic):
        assert clinic["doctors"] == 2
        assert clinic["patients"] == 150
        assert clinic["appointments"] == Appointment.objects.count() > 300
        statuses = set(Appointment.objects.values_list("status", flat=True))
        assert statuses == {
            Status.BOOKED,
            Status.CONFIRMED,
            Status.COMPLETED,
            Status.CANCELLED,
            Status.NO_SHOW,
        }
        assert clinic["invoices"] == clinic["sessions"] == clinic["clinical notes"] > 0
        assert clinic["prescriptions"] > 0
        assert clinic["payments"] > 0
        assert clinic["notifications"] == Notification.objects.count() > 0

    def test_no_doctor_or_patient_is_ever_in_two_places_at_once(self, clinic):
        active = Appointment.objects.active().order_by("starts_at")
        for owner in ("doctor_id", "patient_id"):
            last_end: dict[int, datetime] = {}
            for key, starts_at, ends_at in active.values_list(owner, "starts_at", "ends_at"):
                assert key not in last_end or last_end[key] <= starts_at, f"{owner} {key} overlaps"
                last_end[key] = ends_at
        # The simpler rule behind it: a patient has at most one appointment a day.
        per_day = defaultdict(int)
        for patient_id, starts_at in Appointment.objects.values_list("patient_id", "starts_at"):
            per_day[patient_id, local_day(starts_at)] += 1
        assert max(per_day.values()) == 1

    def test_appointments_are_inside_working_hours_on_the_slot_grid(self, clinic):
        grid = timedelta(minutes=settings.SCHEDULING_SLOT_MINUTES)
        doctors = {doctor.pk: doctor for doctor in Doctor.objects.prefetch_related("working_hours")}
        time_off = defaultdict(list)
        for leave in TimeOff.objects.all():
            time_off[leave.doctor_id].append(leave)
        appointments = Appointment.objects.select_related("service")
        for appointment in appointments:
            hours = list(doctors[appointment.doctor_id].working_hours.all())
            windows = working_windows(local_day(appointment.starts_at), hours)
            inside = [w for w in windows if w.contains(appointment.starts_at, appointment.ends_at)]
            assert inside, f"{appointment} is outside working hours"
            assert (appointment.starts_at - inside[0].starts_at) % grid == timedelta(0)
            assert appointment.duration == appointment.service.duration
            assert not any(
                leave.starts_at < appointment.ends_at and appointment.starts_at < leave.ends_at
                for leave in time_off[appointment.doctor_id]
            ), f"{appointment} is during time off"

    def test_statuses_sessions_and_times_agree(self, clinic):
        past = Appointment.objects.filter(ends_at__lte=NOW)
        future = Appointment.objects.filter(starts_at__gte=NOW)
        assert past.count() + future.count() == Appointment.objects.count()
        assert not past.filter(status__in=[Status.BOOKED, Status.CONFIRMED]).exists()
        assert set(future.values_list("status", flat=True)) == {Status.BOOKED, Status.CONFIRMED}

        completed = Appointment.objects.filter(status=Status.COMPLETED)
        assert (
            not Appointment.objects.exclude(status=Status.COMPLETED)
            .filter(session__isnull=False)
            .exists()
        )
        assert not completed.filter(session__isnull=True).exists()
        assert not completed.exclude(session__status=SessionStatus.COMPLETED).exists()
        assert not completed.filter(session__invoice__isnull=True).exists()
        assert not completed.annotate(done=Count("session__performed")).filter(done=0).exists()
        assert not completed.filter(arrived_at__isnull=True).exists()
        assert not Appointment.objects.filter(
            status=Status.CANCELLED, cancellation_reason=""
        ).exists()
        for appointment in completed.select_related("session"):
            session = appointment.session
            assert appointment.created_at <= appointment.arrived_at <= session.started_at
            assert appointment.starts_at <= session.started_at < session.completed_at
            assert session.completed_at <= appointment.ends_at <= NOW
        # Every appointment's history starts with its booking and ends in its status.
        for appointment in Appointment.objects.prefetch_related("changes"):
            changes = list(appointment.changes.all())
            assert changes[0].action == "booked"
            assert changes[-1].to_status == appointment.status
            assert appointment.created_at <= changes[-1].changed_at <= NOW

    def test_invoices_are_numbered_without_gaps_and_total_as_refresh_totals_derives(self, clinic):
        invoices = list(Invoice.objects.order_by("number"))
        assert [invoice.number for invoice in invoices] == list(range(1, len(invoices) + 1))
        assert InvoiceCounter.objects.get().last_number == len(invoices)
        issued = [invoice.issued_at for invoice in invoices]
        assert issued == sorted(issued)
        for invoice in invoices:
            stored = (invoice.total, invoice.amount_paid, invoice.amount_refunded, invoice.status)
            derived = refresh_totals(Invoice.objects.get(pk=invoice.pk))
            assert stored == (
                derived.total,
                derived.amount_paid,
                derived.amount_refunded,
                derived.status,
            ), f"invoice {invoice.number}"
            assert invoice.balance >= 0
        statuses = {invoice.status for invoice in invoices}
        assert {"paid", "open"} <= statuses
        methods = set(
            Invoice.objects.filter(payments__status=PaymentStatus.SUCCEEDED).values_list(
                "payments__method", flat=True
            )
        )
        assert methods == {"cash", "card_terminal", "stripe"}

    def test_the_outbox_holds_what_the_rules_would_have_queued(self, clinic):
        reminders = Notification.objects.filter(template="appointment_reminder")
        pending = reminders.filter(status=MessageStatus.PENDING).select_related("appointment")
        assert pending.exists()
        for message in pending:
            appointment = message.appointment
            assert appointment.status == Status.CONFIRMED
            assert message.send_after > NOW
            hours = (appointment.starts_at - message.send_after) / timedelta(hours=1)
            assert hours in settings.NOTIFICATIONS_REMINDER_HOURS
            assert message.idempotency_key == (
                f"reminder:{appointment.pk}:{hours:g}h:{appointment.starts_at.isoformat()}"
            )
        finished = Notification.objects.exclude(status=MessageStatus.PENDING)
        assert not finished.filter(updated_at__lt=NOW - timedelta(days=180)).exists()
        assert not finished.filter(updated_at__gt=NOW).exists()
        assert set(finished.values_list("status", flat=True)) >= {
            MessageStatus.SENT,
            MessageStatus.DELIVERED,
        }
        booked = Notification.objects.filter(template="appointment_booked")
        for key, appointment_id in booked.values_list("idempotency_key", "appointment_id"):
            assert key == f"booked:{appointment_id}"
        # The bodies are exactly what render_message writes for that appointment.
        sms = Notification.objects.filter(channel=Channel.SMS).select_related(
            "appointment__patient", "appointment__doctor"
        )
        for message in sms.order_by("pk")[::25]:
            expected = render_message(
                message.template, **appointment_context(message.appointment), payment_url=""
            )
            assert message.body == expected
            assert message.appointment.service.name not in message.body

    def test_rows_pass_model_validation(self, clinic):
        samples = [
            *Patient.objects.order_by("pk")[::10],
            *Appointment.objects.order_by("pk")[::40],
            *ClinicalNote.objects.order_by("pk")[::40],
            *PrescriptionItem.objects.order_by("pk")[::10],
        ]
        for row in samples:
            row.full_clean()

    def test_it_refuses_a_database_that_has_a_clinic(self, clinic):
        with pytest.raises(NotEmpty, match="already holds a clinic"):
            generate(seed=1, **SIZE)


def _fingerprint() -> str:
    rows = [
        *Appointment.objects.order_by("pk").values_list(
            "doctor__family_name",
            "patient__national_id",
            "patient__phone",
            "service__code",
            "starts_at",
            "status",
            "created_at",
        ),
        *Invoice.objects.order_by("number").values_list("number", "total", "status"),
        *Notification.objects.order_by("pk").values_list("idempotency_key", "status", "body"),
    ]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _generated_fingerprint(seed: int) -> str:
    """Generate, fingerprint, and roll back, so the next run starts empty again."""
    with transaction.atomic():
        generate(seed=seed, **SIZE)
        fingerprint = _fingerprint()
        transaction.set_rollback(True)
    return fingerprint


def test_the_same_seed_gives_the_same_data(db):
    first = _generated_fingerprint(seed=3)
    assert not Appointment.objects.exists()
    assert _generated_fingerprint(seed=3) == first
    assert _generated_fingerprint(seed=4) != first


def test_the_command_prints_counts_and_refuses_to_run_twice(db):
    out = StringIO()
    arguments = ["--doctors", "1", "--years", "0.05", "--patients", "40", "--yes-i-know"]
    call_command("generate_load_data", *arguments, stdout=out, stderr=StringIO())

    printed = out.getvalue()
    assert re.search(rf"\bappointments +{Appointment.objects.count():,}\n", printed)
    assert re.search(rf"\bpatients +{Patient.objects.count():,}\n", printed)
    assert "Done in" in printed
    with pytest.raises(CommandError, match="already holds a clinic"):
        call_command("generate_load_data", *arguments, stdout=StringIO(), stderr=StringIO())


def test_the_command_refuses_with_debug_off_unless_told(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("generate_load_data", "--doctors", "1", "--years", "0.05")
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--doctors", "0"], "--doctors"),
        (["--years", "0"], "--years"),
        (["--patients", "0"], "--patients"),
        (["--until", "someday"], "not a date"),
    ],
)
def test_the_command_refuses_bad_arguments(db, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("generate_load_data", *arguments, "--yes-i-know", stdout=StringIO())
    assert not Patient.objects.exists()


def test_manage_py_check_passes():
    call_command("check")
