"""The patient's journey on the public booking site, on a phone: a new patient books
a consultation with the code texted to them (read from the fake Twilio server), opens
the link in the confirmation text, moves the appointment, then cancels it.
Screenshots of each page, on a phone and on a desk, go to var/screenshots/."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from doctors.models import Doctor, Weekday
from notifications.dispatch import dispatch_due
from online.models import OnlineRules, WaitlistEntry, WaitlistOffer
from online.tokens import digest, new_token
from patients.models import Patient
from scheduling.holds import hold_time
from scheduling.models import Appointment, OnlineBooking
from scheduling.models import Status as AppointmentStatus
from tests.browser.conftest import new_context
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    ServiceFactory,
    with_working_hours,
)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 800}
CODE = re.compile(r"\b(\d{6})\b")
MANAGE_LINK = re.compile(r"(https?://\S+/book/m/[A-Za-z0-9]+/)")


def screenshots(page: Page, name: str) -> None:
    """The page whole, on a desk and on a phone (where the test goes on); at each,
    nothing sticks out sideways."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desk", DESK), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=SCREENSHOTS / f"online-{name}-{label}.png", full_page=True)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} scrolls sideways on a {label}"


@pytest.fixture
def clinic(settings, fake_twilio, live_server):
    """The clinic online: a consultation anyone may book, with Dr Smith, who works
    every day; texts go to the fake Twilio at once and link to the live server."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.NOTIFICATIONS_QUIET_HOURS = ""
    settings.CLINIC_ADDRESS = "12 River Street, Springfield"
    settings.CLINIC_PHONE = "+1 413-555-0100"
    cache.clear()
    OnlineRules.objects.create(
        opening_hours="Every day 08:00–18:00", directions="Second floor, by the lift"
    )
    ServiceFactory(
        code="consult",
        name="Consultation",
        duration_minutes=30,
        online_booking=OnlineBooking.ANYONE,
        show_price_online=True,
    )
    doctor = DoctorFactory(given_name="Alan", family_name="Smith", bookable_online=True)
    with_working_hours(doctor, *Weekday, starts=time(8), ends=time(18))
    yield fake_twilio
    cache.clear()


@pytest.fixture
def phone_page(browser, live_server):
    context = new_context(browser, live_server)
    page = context.new_page()
    page.set_viewport_size(PHONE)
    yield page
    context.close()


def sent_to(fake_twilio, number: str) -> list[str]:
    dispatch_due()  # What the worker does on the commit's wake-up call.
    return [message["Body"] for message in fake_twilio.messages if message["To"] == number]


def test_a_new_patient_books_moves_and_cancels_on_a_phone(clinic, phone_page):
    page = phone_page
    page.goto(reverse("online:home"))
    expect(page.get_by_role("heading", name="Book an appointment")).to_be_visible()
    expect(page.get_by_text("12 River Street, Springfield")).to_be_visible()
    screenshots(page, "home")

    page.get_by_role("link", name=re.compile("Consultation")).click()
    expect(page.get_by_role("heading", name="Choose a time")).to_be_visible()
    screenshots(page, "service")
    # A week on: far enough ahead to cancel online (the cutoff is 24 hours).
    page.get_by_role("navigation", name="Weeks").get_by_role(
        "link", name=re.compile("Later")
    ).click()
    first_time = page.locator("button[name=time]").first
    chosen = first_time.get_attribute("value")
    first_time.click()

    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    page.get_by_label("First name").fill("Anna")
    page.get_by_label("Last name").fill("Novak")
    page.get_by_label("Date of birth").fill("1984-03-12")
    page.get_by_label("Mobile phone").fill("(202) 555-0161")
    screenshots(page, "details")
    page.get_by_role("button", name="Text me a code").click()

    expect(page.get_by_role("heading", name="Enter the code")).to_be_visible()
    [code_text] = sent_to(clinic, "+12025550161")
    page.get_by_label("The 6-digit code").fill(CODE.search(code_text).group(1))
    screenshots(page, "verify")
    page.get_by_role("button", name="Book this time").click()

    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    screenshots(page, "booked")
    appointment = Appointment.objects.get()
    assert f"{appointment.doctor_id}|{int(appointment.starts_at.timestamp())}" == chosen
    assert Patient.objects.get().registered_online
    booked_text = next(body for body in sent_to(clinic, "+12025550161") if "/book/m/" in body)

    page.goto(MANAGE_LINK.search(booked_text).group(1))
    expect(page.get_by_role("heading", name="Your appointment")).to_be_visible()
    expect(page.get_by_text("Second floor, by the lift")).to_be_visible()
    screenshots(page, "manage")

    page.get_by_role("link", name="Change the time").click()
    expect(page.get_by_role("heading", name="Change the time")).to_be_visible()
    screenshots(page, "move")
    page.get_by_role("navigation", name="Weeks").get_by_role(
        "link", name=re.compile("Later")
    ).click()
    page.locator("button[name=time]").nth(2).click()
    expect(page.get_by_role("status")).to_contain_text("Your appointment is moved to")
    moved = Appointment.objects.get()
    assert moved.starts_at != appointment.starts_at
    assert moved.status == AppointmentStatus.BOOKED

    page.get_by_role("link", name="Cancel the appointment").click()
    expect(page.get_by_role("heading", name="Cancel your appointment?")).to_be_visible()
    screenshots(page, "cancel")
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(page.get_by_role("status").first).to_contain_text("cancelled")
    screenshots(page, "cancelled")
    assert Appointment.objects.get().status == AppointmentStatus.CANCELLED
    assert any("cancelled" in body for body in sent_to(clinic, "+12025550161"))


def test_the_waitlist_an_offer_and_the_friendly_pages_on_a_phone(clinic, phone_page, settings):
    page = phone_page
    # A time taken while the visitor types the code: the nearest free times.
    page.goto(reverse("online:service", args=["consult"]))
    first_time = page.locator("button[name=time]").first
    doctor_pk, seconds = first_time.get_attribute("value").split("|")
    first_time.click()
    page.get_by_label("First name").fill("Ben")
    page.get_by_label("Last name").fill("Okafor")
    page.get_by_label("Date of birth").fill("1990-07-01")
    page.get_by_label("Mobile phone").fill("(202) 555-0177")
    page.get_by_role("button", name="Text me a code").click()
    [code_text] = sent_to(clinic, "+12025550177")
    taken = datetime.fromtimestamp(int(seconds), tz=UTC)
    AppointmentFactory(doctor=Doctor.objects.get(pk=doctor_pk), starts_at=taken)
    page.get_by_label("The 6-digit code").fill(CODE.search(code_text).group(1))
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("heading", name="Sorry, this time was just taken")).to_be_visible()
    screenshots(page, "taken")
    page.locator("button[name=time]").first.click()
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()

    # No time suits: the waitlist, with the same details and code.
    page.goto(reverse("online:service", args=["consult"]))
    page.get_by_role("link", name=re.compile("No time suits me")).click()
    expect(page.get_by_role("heading", name="Tell me if something frees up")).to_be_visible()
    page.get_by_label("Mornings").check()
    screenshots(page, "waitlist")
    page.get_by_role("button", name="Next: your details").click()
    page.get_by_label("First name").fill("Anna")
    page.get_by_label("Last name").fill("Novak")
    page.get_by_label("Date of birth").fill("1984-03-12")
    page.get_by_label("Mobile phone").fill("(202) 555-0161")
    page.get_by_role("button", name="Text me a code").click()
    [code_text] = sent_to(clinic, "+12025550161")
    page.get_by_label("The 6-digit code").fill(CODE.search(code_text).group(1))
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.get_by_role("heading", name="You are on the waitlist")).to_be_visible()
    screenshots(page, "joined")

    # A time frees up and is held for Anna: she takes it from the link.
    entry = WaitlistEntry.objects.get()
    token = hold_for(entry)
    page.goto(reverse("online:offer", args=[token]))
    expect(page.get_by_role("heading", name="A time has come free")).to_be_visible()
    screenshots(page, "offer")
    page.get_by_role("button", name="Take it").click()
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    screenshots(page, "offer-taken")

    page.goto(reverse("online:manage", args=["NoSuchLnk2"]))
    expect(page.get_by_role("heading", name="We could not find this")).to_be_visible()
    screenshots(page, "not-found")
    settings.ONLINE_RATE_LIMITS = {**settings.ONLINE_RATE_LIMITS, "pages": "1/h"}
    page.goto(reverse("online:home"))
    page.goto(reverse("online:home"))
    expect(page.get_by_role("heading", name="Too many requests")).to_be_visible()
    screenshots(page, "too-many")


def hold_for(entry: WaitlistEntry) -> str:
    """Tomorrow at 10:00 with Dr Smith, held for the waiting patient's offer; the
    offer's token (as texted)."""
    tomorrow = timezone.localdate() + timedelta(days=1)
    starts_at = datetime.combine(tomorrow, time(10), tzinfo=timezone.get_current_timezone())
    hold = hold_time(
        service=entry.service,
        doctor=Doctor.objects.get(family_name="Smith"),
        patient=entry.patient,
        starts_at=starts_at,
        ends_at=starts_at + entry.service.duration,
        until=timezone.now() + timedelta(minutes=15),
    )
    token = new_token()
    WaitlistOffer.objects.create(
        entry=entry,
        hold=hold,
        token_hash=digest(token, purpose="offer"),
        expires_at=timezone.now() + timedelta(minutes=15),
    )
    return token


def test_a_patient_books_by_keyboard_alone(clinic, phone_page):
    """Tab and Enter only, typing into the fields reached: the service, a time, the
    details, the code."""
    page = phone_page
    page.goto(reverse("online:home"))

    tab_until(page, "a.online-service")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Choose a time")).to_be_visible()
    tab_until(page, "button[name=time]")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    for selector, text in [
        ("input[name=given_name]", "Omar"),
        ("input[name=family_name]", "Haddad"),
        ("input[name=phone]", "(202) 555-0162"),
    ]:
        tab_until(page, selector)
        page.keyboard.type(text)
    tab_until(page, "input[name=date_of_birth]")
    page.keyboard.type("03121984")  # Chromium's date field: month, day, year.
    tab_until(page, "main button.btn-primary")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Enter the code")).to_be_visible()
    [code_text] = sent_to(clinic, "+12025550162")
    tab_until(page, "input[name=code]")
    page.keyboard.type(CODE.search(code_text).group(1))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    assert Appointment.objects.get().patient.full_name == "Omar Haddad"


def tab_until(page: Page, selector: str, most: int = 80) -> None:
    """Tab until an element matching `selector` has the focus, visibly."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            visible = page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement);"
                " return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)"
                " || s.boxShadow !== 'none'; }"
            )
            assert visible, f"{selector} has the focus without showing it"
            return
    raise AssertionError(f"{selector} is not reached by Tab")
