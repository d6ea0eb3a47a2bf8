"""The outbox on a laptop's screen (1366 pixels) and on a phone: every message's
actions stay in view, each message is named in words and a waiting one says why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from notifications.models import Status
from tests.factories import AppointmentFactory, NotificationFactory, ReceptionistFactory

LONG_TEXT = (
    "Riverside Clinic: Reminder, Maximiliana-Guadalupe: you see Dr Papadopoulos-Wiśniewska "
    "on Wed 2 Dec at 1:30 PM. Reply X if you cannot come, or call 555-0100."
)


def an_outbox_of_long_messages() -> None:
    appointment = AppointmentFactory(starts_at=timezone.now() + timedelta(days=3))
    for hours in range(30):
        NotificationFactory(
            template="appointment_reminder",
            appointment=appointment,
            body=LONG_TEXT,
            send_after=appointment.starts_at - timedelta(hours=hours + 1),
            next_attempt_at=appointment.starts_at - timedelta(hours=hours + 1),
        )
    NotificationFactory(
        status=Status.FAILED,
        body=LONG_TEXT,
        last_error="Twilio error 21610: Attempt to send to unsubscribed recipient " * 3,
    )


def assert_no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.clientWidth")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    for button in (
        page.get_by_role("button", name="Cancel").all()
        + page.get_by_role("button", name="Retry").all()
    ):
        box = button.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= width


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
def test_the_outbox_fits_the_screen_with_its_actions_in_view(log_in, page, settings, width, height):
    settings.NOTIFICATIONS_QUIET_HOURS = ""  # Whatever the hour CI runs at.
    an_outbox_of_long_messages()
    page.set_viewport_size({"width": width, "height": height})
    log_in(ReceptionistFactory())

    page.goto(reverse("notifications:outbox"))

    expect(page.get_by_test_id("message-kind").first).to_have_text("Reminder 1 h before")
    expect(page.get_by_test_id("waiting-reason").first).to_contain_text("Scheduled for")
    assert_no_sideways_scroll(page)
    page.screenshot(path=f"var/screenshots/outbox-{width}.png", full_page=True)
