"""The dispatcher and the channels: due messages go to Twilio (a local fake that the
real `twilio` client talks to), in-app messages reach the inbox, email goes through
Django's mail backend; every outcome is recorded on the row.

The clock stands at Monday 30 November 2026, 12:00 in New York, outside quiet hours.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core import mail
from django_q.models import Task
from django_q.tasks import async_task

from notifications.dispatch import claim_due, deliver, dispatch_due
from notifications.models import Channel, Notification, Status
from scheduling.models import Status as AppointmentStatus
from tests.clock import MONDAY, at
from tests.factories import (
    AppointmentFactory,
    NotificationFactory,
    PatientFactory,
    ReceptionistFactory,
)
from tests.fakes import twilio as fake

NOON = at(MONDAY, 12)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def noon(time_machine) -> None:
    time_machine.move_to(NOON, tick=False)


def sms(**fields) -> Notification:
    defaults = {"send_after": NOON, "next_attempt_at": NOON, "body": "Hello Jane"}
    patient = fields.pop("patient", None) or PatientFactory(phone="+12025550123")
    return NotificationFactory(patient=patient, **{**defaults, **fields})


def refreshed(notification: Notification) -> Notification:
    notification.refresh_from_db()
    return notification


# --- SMS through Twilio -----------------------------------------------------------


def test_a_due_sms_goes_to_twilio_and_is_recorded_sent(fake_twilio):
    message = sms()

    report = dispatch_due()

    [sent] = fake_twilio.messages
    assert sent == {
        "To": "+12025550123",
        "From": fake.FROM_NUMBER,
        "Body": "Hello Jane",
        "StatusCallback": f"https://clinic.example.test/webhooks/twilio/status/?n={message.pk}",
    }
    [request] = fake_twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{fake.ACCOUNT_SID}/Messages.json"
    assert request.headers["authorization"].startswith("Basic ")
    message = refreshed(message)
    assert message.status == Status.SENT
    assert message.provider_message_id.startswith("SM")
    assert (message.address, message.attempts, message.sent_at) == ("+12025550123", 1, NOON)
    assert report.outcomes == {Status.SENT: 1}


def test_a_messaging_service_replaces_the_from_number(settings, fake_twilio):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MGfake0000000000000000000000000"
    settings.PUBLIC_BASE_URL = ""
    sms()

    dispatch_due()

    [sent] = fake_twilio.messages
    assert sent["MessagingServiceSid"] == "MGfake0000000000000000000000000"
    assert "From" not in sent
    assert "StatusCallback" not in sent  # No public address to call back.


def test_messages_not_yet_due_or_already_done_stay_put(fake_twilio):
    later = sms(next_attempt_at=NOON + timedelta(minutes=1))
    done = [sms(status=status) for status in (Status.SENT, Status.FAILED, Status.CANCELLED)]

    assert dispatch_due().handled == 0

    assert fake_twilio.messages == []
    assert refreshed(later).status == Status.PENDING
    assert [refreshed(row).attempts for row in done] == [0, 0, 0]


@pytest.mark.parametrize("error", [fake.OUTAGE, fake.RATE_LIMITED], ids=["503", "429"])
def test_a_transient_error_is_retried_with_backoff(fake_twilio, time_machine, error):
    message = sms()
    fake_twilio.answer_next(error)

    dispatch_due()

    message = refreshed(message)
    assert message.status == Status.PENDING
    assert message.attempts == 1
    assert message.next_attempt_at == NOON + timedelta(seconds=60)
    assert message.last_error.startswith(f"Twilio error {error.payload['code']}")

    time_machine.move_to(NOON + timedelta(seconds=59), tick=False)
    assert dispatch_due().handled == 0

    time_machine.move_to(NOON + timedelta(seconds=60), tick=False)
    dispatch_due()
    message = refreshed(message)
    assert (message.status, message.attempts, message.last_error) == (Status.SENT, 2, "")
    assert len(fake_twilio.messages) == 2


def test_backoff_doubles_and_gives_up_after_the_last_attempt(settings, fake_twilio, time_machine):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    message = sms()
    fake_twilio.answer_next(fake.OUTAGE, fake.OUTAGE, fake.OUTAGE)

    waits = []
    for _ in range(3):
        dispatch_due()
        message = refreshed(message)
        waits.append(message.next_attempt_at - NOON)
        time_machine.move_to(message.next_attempt_at, tick=False)

    assert waits[:2] == [timedelta(seconds=60), timedelta(seconds=60 + 120)]
    assert message.status == Status.FAILED
    assert message.attempts == 3
    assert message.last_error.endswith("Gave up after 3 attempts.")
    assert len(fake_twilio.messages) == 3


@pytest.mark.parametrize(
    "error",
    [fake.INVALID_NUMBER, fake.NOT_MOBILE, fake.UNSUBSCRIBED],
    ids=["invalid", "landline", "unsubscribed"],
)
def test_a_permanent_error_fails_at_once_with_the_reason(fake_twilio, error):
    message = sms()
    fake_twilio.answer_next(error)

    dispatch_due()

    message = refreshed(message)
    assert (message.status, message.attempts) == (Status.FAILED, 1)
    assert message.last_error.startswith(f"Twilio error {error.payload['code']}: ")
    assert message.last_error.endswith(error.payload["message"])


def test_twilio_out_of_reach_is_a_transient_error(settings, fake_twilio):
    fake_twilio.stop()
    message = sms()

    dispatch_due()

    message = refreshed(message)
    assert message.status == Status.PENDING
    assert message.last_error.startswith("Twilio could not be reached")


def test_a_patient_who_opted_out_is_never_texted(fake_twilio):
    patient = PatientFactory(phone="+12025550123")
    patient.set_sms_opt_out(True)
    patient.save()
    message = sms(patient=patient)

    dispatch_due()

    assert fake_twilio.messages == []
    message = refreshed(message)
    assert (message.status, message.last_error) == (
        Status.SKIPPED,
        "The patient has opted out of SMS.",
    )


def test_sms_due_in_quiet_hours_waits_for_the_morning(fake_twilio, time_machine):
    late = at(MONDAY, 22)
    time_machine.move_to(late, tick=False)
    message = sms(next_attempt_at=late)
    staff_alert = NotificationFactory(
        patient=None, user=ReceptionistFactory(), channel=Channel.IN_APP, next_attempt_at=late
    )

    dispatch_due()

    assert fake_twilio.messages == []
    message = refreshed(message)
    assert (message.status, message.attempts) == (Status.PENDING, 0)
    assert message.next_attempt_at == at(MONDAY + timedelta(days=1), 8)
    assert refreshed(staff_alert).status == Status.SENT


# --- Reminders that no longer make sense -----------------------------------------


@pytest.mark.parametrize(
    ("status", "starts_in", "reason"),
    [
        (AppointmentStatus.CANCELLED, timedelta(hours=2), "The appointment is cancelled."),
        (AppointmentStatus.BOOKED, timedelta(hours=2), "The appointment is booked."),
        (AppointmentStatus.CONFIRMED, timedelta(0), "The appointment has already started."),
    ],
)
def test_a_reminder_is_skipped_unless_its_appointment_is_confirmed_and_ahead(
    fake_twilio, status, starts_in, reason
):
    appointment = AppointmentFactory(starts_at=NOON + starts_in, status=status)
    reminder = sms(
        patient=appointment.patient, appointment=appointment, template="appointment_reminder"
    )

    dispatch_due()

    assert fake_twilio.messages == []
    assert (refreshed(reminder).status, refreshed(reminder).last_error) == (Status.SKIPPED, reason)


# --- Claims: one send per row, even with a dead or a second worker ----------------


def test_a_row_left_sending_by_a_dead_worker_is_sent_after_the_timeout(
    settings, fake_twilio, time_machine
):
    message = sms()
    claim_due()  # A worker claims it, then dies before sending.
    assert refreshed(message).status == Status.SENDING

    time_machine.move_to(NOON + timedelta(seconds=settings.NOTIFICATIONS_SENDING_TIMEOUT - 1))
    assert dispatch_due().handled == 0

    time_machine.move_to(NOON + timedelta(seconds=settings.NOTIFICATIONS_SENDING_TIMEOUT + 1))
    dispatch_due()
    message = refreshed(message)
    assert (message.status, message.attempts) == (Status.SENT, 2)
    assert len(fake_twilio.messages) == 1


def test_a_worker_whose_claim_was_taken_over_writes_nothing(settings, fake_twilio, time_machine):
    message = sms()
    [slow] = claim_due()
    time_machine.move_to(NOON + timedelta(seconds=settings.NOTIFICATIONS_SENDING_TIMEOUT + 1))
    [fast] = claim_due()

    assert deliver(fast) == Status.SENT
    fake_twilio.answer_next(fake.INVALID_NUMBER)
    deliver(slow)  # The slow worker's late answer must not overwrite the outcome.

    assert refreshed(message).status == Status.SENT


def test_a_claimed_row_is_not_claimed_again(fake_twilio):
    sms()
    assert len(claim_due()) == 1
    assert claim_due() == []


def test_dispatch_works_through_a_backlog_in_batches(fake_twilio):
    patient = PatientFactory(phone="+12025550123")
    for _ in range(250):
        sms(patient=patient)

    report = dispatch_due()

    assert report.outcomes == {Status.SENT: 250}
    assert len(fake_twilio.messages) == 250


# --- Other channels ---------------------------------------------------------------


def test_in_app_messages_reach_the_inbox(db):
    user = ReceptionistFactory()
    message = NotificationFactory(patient=None, user=user, channel=Channel.IN_APP)
    assert not Notification.objects.inbox_of(user).exists()

    dispatch_due()

    assert list(Notification.objects.inbox_of(user)) == [refreshed(message)]
    assert refreshed(message).address == user.username


def test_email_goes_through_djangos_mail_backend(settings, db):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    user = ReceptionistFactory(email="rita@clinic.example.test")
    message = NotificationFactory(
        patient=None, user=user, channel=Channel.EMAIL, subject="Jane Doe", body="Arrived."
    )

    dispatch_due()

    [email] = mail.outbox
    assert (email.to, email.subject, email.body) == (
        ["rita@clinic.example.test"],
        "Jane Doe",
        "Arrived.",
    )
    assert refreshed(message).status == Status.SENT


def test_email_without_an_address_fails_with_the_reason(db):
    message = NotificationFactory(patient=None, user=ReceptionistFactory(email=""), channel="email")

    dispatch_due()

    assert refreshed(message).status == Status.FAILED
    assert refreshed(message).last_error == "The recipient has no email address."


def test_without_twilio_credentials_sms_goes_to_the_console(db, caplog, settings):
    settings.DEBUG = True  # The console shows the body only in development.
    caplog.set_level(logging.INFO, logger="notifications.channels")
    message = sms()

    dispatch_due()

    assert refreshed(message).status == Status.SENT
    assert "Hello Jane" in caplog.text


# --- As the worker runs it ---------------------------------------------------------


def test_the_worker_task_sends_and_keeps_its_outcome(fake_twilio):
    sms()

    task_id = async_task("notifications.tasks.dispatch_due", sync=True)

    task = Task.objects.get(id=task_id)
    assert task.success
    assert task.result == {Status.SENT: 1}
    assert len(fake_twilio.messages) == 1


def test_the_periodic_schedule_exists_once(db):
    from django_q.models import Schedule

    [schedule] = Schedule.objects.filter(func="notifications.tasks.dispatch_due")
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        Schedule.MINUTES,
        1,
        -1,
    )
