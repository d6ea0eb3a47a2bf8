"""The waitlist in a real browser, from the desk to the patient's YES: reception puts
a patient on the waitlist for a consultation, another patient's appointment at a
time they want is cancelled from the day view, the day view shows the time held for
them, their text offers it, they reply YES through Twilio's webhook (signed as Twilio
signs it) and the day view shows their booking, which its history says the waitlist
booked by SMS reply.

The clinic's clock stands at Tuesday 1 December 2026, 08:00 in New York (and runs
on); the freed time is the next Monday at 10:00, far beyond the online rules' notice.
Screenshots at a laptop's and a phone's size go to var/shots/ (or $SCREENSHOTS_DIR),
for a person to look at."""

from __future__ import annotations

import os
import re
import urllib.request
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import Page, expect
from twilio.request_validator import RequestValidator

from doctors.models import Weekday
from notifications.dispatch import dispatch_due
from notifications.messages import clock
from online.models import WaitlistEntry, WaitlistOffer
from scheduling.models import Appointment, Status
from tests.clock import at
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    PatientFactory,
    ReceptionistFactory,
    ServiceFactory,
    with_working_hours,
)
from tests.fakes.twilio import AUTH_TOKEN

VIEWPORTS = {"wide": (1366, 768), "narrow": (390, 844)}
TUESDAY = date(2026, 12, 1)
NEXT_MONDAY = date(2026, 12, 7)
ANNA_PHONE = "+12025550142"


@pytest.fixture(autouse=True)
def tuesday_morning(time_machine) -> None:
    time_machine.move_to(at(TUESDAY, 8), tick=True)


def shoot(page: Page, name: str) -> None:
    folder = Path(os.environ.get("SCREENSHOTS_DIR", settings.BASE_DIR / "var" / "shots"))
    folder.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=folder / f"{name}-{size}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 768})


def open_day(page: Page, day: date) -> None:
    page.goto(f"{reverse('scheduling:day')}?date={day.isoformat()}")


def reply_by_sms(live_server, from_number: str, body: str) -> None:
    """An SMS reply as Twilio delivers it: a signed form POST to the inbound webhook
    (signed over the clinic's public URL, which the webhook checks against)."""
    path = reverse("twilio:inbound")
    params = {
        "MessageSid": "SM" + "b" * 32,
        "AccountSid": "AC" + "c" * 32,
        "From": from_number,
        "To": "+12025550100",
        "Body": body,
    }
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        settings.PUBLIC_BASE_URL + path, params
    )
    request = urllib.request.Request(
        live_server.url + path,
        data=urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_a_cancelled_time_goes_to_the_waiter_who_takes_it_by_sms(
    signed_in, live_server, settings, fake_twilio
):
    settings.NOTIFICATIONS_QUIET_HOURS = ""  # Whatever the hour CI runs at.
    smith = with_working_hours(
        DoctorFactory(given_name="Alan", family_name="Smith"), Weekday.MONDAY
    )
    consultation = ServiceFactory(code="consult", name="Consultation", duration_minutes=30)
    anna = PatientFactory(given_name="Anna", family_name="Lindqvist", phone=ANNA_PHONE)
    bob = AppointmentFactory(
        doctor=smith,
        patient=PatientFactory(given_name="Bob", family_name="Brown"),
        service=consultation,
        starts_at=at(NEXT_MONDAY, 10),
        status=Status.CONFIRMED,
    )
    page = signed_in(ReceptionistFactory())

    # Reception puts Anna on the waitlist, for mornings until a week after Monday.
    page.get_by_test_id("nav-waitlist").click()
    expect(page.get_by_test_id("waitlist-empty")).to_be_visible()
    page.get_by_label("Find the patient").fill("lindqvist")
    page.get_by_role("button", name="Find").click()
    page.get_by_role("link", name=re.compile("Anna Lindqvist")).click()
    expect(page.get_by_test_id("chosen-patient")).to_have_text("Anna Lindqvist")
    form = page.get_by_test_id("add-waiter-form")
    form.get_by_label("Service").select_option(label="Consultation (30 min)")
    form.get_by_label("Until").fill("2026-12-14")
    form.get_by_label("Times of day").select_option(label="Mornings (before 12:00)")
    form.get_by_role("button", name="Add to the waitlist").click()
    expect(
        page.get_by_role("alert").filter(has_text="Anna Lindqvist is on the waitlist")
    ).to_be_visible()
    waiter = page.get_by_test_id("waiter")
    expect(waiter).to_contain_text("Consultation · any doctor")
    expect(waiter).to_contain_text("Mornings (before 12:00)")
    expect(waiter.get_by_test_id("waiter-status")).to_have_text("Waiting")
    entry = WaitlistEntry.objects.get(patient=anna)
    assert entry.source == WaitlistEntry.Source.DESK

    # Bob's Monday 10:00 is cancelled from the day view: it is held for Anna at once.
    open_day(page, NEXT_MONDAY)
    card = page.get_by_test_id(f"appointment-{bob.pk}")
    card.get_by_role("link", name="Cancel").click()
    dialog = page.get_by_test_id("cancel-dialog")
    dialog.get_by_label("Another reason").check()
    dialog.get_by_label("Details").fill("Moving away")
    dialog.get_by_role("button", name="Cancel the appointment").click()
    expect(page.get_by_role("alert").filter(has_text="Cancelled: ")).to_be_visible()

    offer = WaitlistOffer.objects.select_related("hold").get(entry=entry)
    hold = offer.hold
    assert (hold.status, hold.starts_at, hold.doctor) == (Status.HELD, at(NEXT_MONDAY, 10), smith)
    open_day(page, NEXT_MONDAY)
    held = page.get_by_test_id(f"appointment-{hold.pk}")
    until = offer.expires_at.astimezone(at(TUESDAY, 8).tzinfo).strftime("%H:%M")
    expect(held).to_contain_text("Anna Lindqvist")
    expect(held.get_by_test_id("held-note")).to_have_text(
        f"Held for the waitlist until {until} · 10:00–10:30"
    )
    expect(held.get_by_role("button")).to_have_count(0)
    expect(held.get_by_role("link", name="Cancel")).to_have_count(0)
    shoot(page, "waitlist-day-held")

    page.get_by_role("link", name="Waitlist").first.click()
    expect(page.get_by_test_id("waiter-status")).to_contain_text(
        f"Mon 7 Dec 10:00–10:30 with Dr Smith, held until {until}"
    )
    shoot(page, "waitlist-offered")

    # The worker texts Anna the offer.
    dispatch_due()
    to_anna = [message["Body"] for message in fake_twilio.messages if message["To"] == ANNA_PHONE]
    assert "you are on our waitlist" in to_anna[0]  # When reception added her.
    [text] = [{"Body": body} for body in to_anna if "Reply YES" in body]
    assert "a time with Dr Smith has come free" in text["Body"]
    assert f"held for you until {clock(offer.expires_at)}" in text["Body"]
    assert "Reply YES to take it" in text["Body"]
    assert "https://clinic.example.test/book/offer/" in text["Body"]

    # She replies YES: the held time is her booking.
    reply_by_sms(live_server, ANNA_PHONE, "Yes")
    booked = Appointment.objects.get(pk=hold.pk)
    assert (booked.status, booked.patient) == (Status.BOOKED, anna)
    open_day(page, NEXT_MONDAY)
    mine = page.get_by_test_id(f"appointment-{hold.pk}")
    expect(mine.locator(".badge")).to_have_text("Booked")
    expect(mine.get_by_role("button", name="Confirm")).to_be_visible()
    mine.get_by_role("link", name=re.compile("Anna Lindqvist$")).click()
    history = page.locator("ol.list-group")
    expect(history.locator("li").last).to_contain_text("Booked from the waitlist")
    expect(history.locator("li").last).to_contain_text("by SMS reply")
    expect(history.locator("li").first).to_contain_text("Held for a waitlist offer")
    expect(history.locator("li").first).to_contain_text("by the waitlist")
    shoot(page, "waitlist-booked-history")

    page.goto(reverse("waitlist:list"))
    expect(page.get_by_test_id("waitlist-empty")).to_be_visible()


def test_bad_dates_are_said_on_the_form_and_add_nobody(signed_in):
    ServiceFactory(code="consult", name="Consultation", duration_minutes=30)
    anna = PatientFactory(given_name="Anna", family_name="Lindqvist")
    page = signed_in(ReceptionistFactory())

    page.goto(f"{reverse('waitlist:list')}?patient={anna.pk}")
    form = page.get_by_test_id("add-waiter-form")
    form.get_by_label("From").fill("2026-12-10")
    form.get_by_label("Until").fill("2026-12-08")
    form.get_by_role("button", name="Add to the waitlist").click()

    expect(page.get_by_test_id("waitlist-error")).to_contain_text(
        "The last date is before the first."
    )
    expect(page.get_by_test_id("chosen-patient")).to_have_text("Anna Lindqvist")
    shoot(page, "waitlist-form-error")
    assert not WaitlistEntry.objects.exists()


def test_a_patient_registered_online_is_reviewed_at_the_desk(signed_in):
    known = PatientFactory(given_name="Anna", family_name="Lindqvist", phone="+12025550150")
    online = PatientFactory(
        given_name="Anna", family_name="Lindqvist", phone="+12025550151", registered_online=True
    )
    page = signed_in(ReceptionistFactory())

    page.goto(online.get_absolute_url())
    review = page.get_by_test_id("online-review")
    expect(review).to_contain_text("Registered online — please review")
    expect(review.get_by_role("link", name="Anna Lindqvist")).to_have_attribute(
        "href", known.get_absolute_url()
    )
    shoot(page, "patient-online-review")
    review.get_by_role("button", name="Reviewed").click()

    expect(page.get_by_role("alert").filter(has_text="marked as reviewed")).to_be_visible()
    expect(page.get_by_test_id("online-review")).to_have_count(0)
    online.refresh_from_db()
    assert not online.registered_online
