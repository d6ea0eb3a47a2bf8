"""The outbox in the clinic's words (notifications/describe.py): each message named by
what it is ("Reminder 24 h before", not a template key) and a pending message's
reason to wait ("Quiet hours: goes at 08:00").

The clock stands at Tuesday 10 March 2026, 11:00 in New York; quiet hours are
21:00-08:00."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from notifications.describe import kind_of, outbox_rows, waiting_reason
from notifications.models import Channel, Status
from notifications.selectors import outbox
from tests.factories import AppointmentFactory, NotificationFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 11:00 in the clinic (EDT)


@pytest.fixture(autouse=True)
def tuesday_morning(time_machine) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.mark.parametrize(
    ("hours", "words"), [(24, "Reminder 24 h before"), (2, "Reminder 2 h before")]
)
def test_a_reminder_says_how_long_before_its_appointment(hours, words):
    appointment = AppointmentFactory(starts_at=NOW + timedelta(days=2))
    reminder = NotificationFactory(
        template="appointment_reminder",
        appointment=appointment,
        send_after=appointment.starts_at - timedelta(hours=hours),
    )

    assert kind_of(reminder) == words


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("appointment_booked", "Booking confirmation"),
        ("payment_link", "Link to pay online"),
        ("doctor_patient_arrived", "Patient arrived (to the doctor)"),
        ("a_brand_new_kind", "A brand new kind"),
    ],
)
def test_every_message_is_named_in_words(template, words):
    assert kind_of(NotificationFactory(template=template)) == words


def test_a_message_held_by_quiet_hours_says_until_when():
    evening = datetime(2026, 3, 11, 1, 30, tzinfo=UTC)  # 21:30 today in the clinic
    held = NotificationFactory(
        send_after=evening, next_attempt_at=datetime(2026, 3, 11, 12, tzinfo=UTC)
    )

    assert waiting_reason(held, now=NOW) == "Quiet hours: goes at Wed 11 Mar 08:00"


def test_a_message_waiting_for_a_retry_says_when_and_why():
    retry = NotificationFactory(
        attempts=2,
        last_error="Twilio could not be reached: timed out",
        next_attempt_at=NOW + timedelta(minutes=4),
    )

    assert waiting_reason(retry, now=NOW) == (
        "Trying again at 11:04 after: Twilio could not be reached: timed out"
    )


def test_a_scheduled_message_says_when_it_goes():
    later = NotificationFactory(
        send_after=NOW + timedelta(hours=3), next_attempt_at=NOW + timedelta(hours=3)
    )

    assert waiting_reason(later, now=NOW) == "Scheduled for 14:00"


def test_a_due_or_finished_message_gives_no_reason():
    due = NotificationFactory(next_attempt_at=NOW - timedelta(minutes=1))
    sent = NotificationFactory(status=Status.SENT, next_attempt_at=NOW + timedelta(hours=1))

    assert waiting_reason(due, now=NOW) == ""
    assert waiting_reason(sent, now=NOW) == ""


def test_a_staff_alert_is_never_held_by_quiet_hours(receptionist):
    evening = datetime(2026, 3, 11, 1, 30, tzinfo=UTC)  # 21:30 today in the clinic
    alert = NotificationFactory(
        patient=None,
        user=receptionist,
        channel=Channel.IN_APP,
        send_after=evening,
        next_attempt_at=evening,
    )

    assert waiting_reason(alert, now=NOW) == "Scheduled for 21:30"


def test_the_outbox_page_shows_the_words_and_the_reasons(reception_client):
    appointment = AppointmentFactory(starts_at=NOW + timedelta(days=2))
    NotificationFactory(
        template="appointment_reminder",
        appointment=appointment,
        send_after=appointment.starts_at - timedelta(hours=24),
        next_attempt_at=appointment.starts_at - timedelta(hours=24),
    )

    page = reception_client.get(reverse("notifications:outbox")).content.decode()

    assert "Reminder 24 h before" in page
    assert "Scheduled for Wed 11 Mar 11:00" in page
    assert "appointment_reminder" not in page


def test_the_rows_cost_no_query_of_their_own(django_assert_num_queries):
    appointment = AppointmentFactory(starts_at=NOW + timedelta(days=1))
    for hours in (24, 2):
        NotificationFactory(
            template="appointment_reminder",
            appointment=appointment,
            send_after=appointment.starts_at - timedelta(hours=hours),
        )
    messages = list(outbox())
    with django_assert_num_queries(0):
        rows = outbox_rows(messages)

    assert [row.kind for row in rows] == ["Reminder 2 h before", "Reminder 24 h before"]
