"""Reception works by keyboard alone: the skip link first, then Tab to a card's
"Check in" (named for the patient, with a visible focus) and Enter."""

from __future__ import annotations

from datetime import time

from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from doctors.models import Weekday
from scheduling.models import Status
from tests.clock import at
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    PatientFactory,
    ReceptionistFactory,
    with_working_hours,
)

MAX_TABS = 120


def focused_name(page: Page) -> str:
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return e.getAttribute('aria-label') || e.textContent.trim(); }"
    )


def tab_to(page: Page, name: str) -> None:
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if focused_name(page) == name:
            return
    raise AssertionError(f"{name!r} is not reached by Tab")


def has_visible_focus(page: Page) -> bool:
    return page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)"
        " || s.boxShadow !== 'none'; }"
    )


def test_reception_checks_a_patient_in_by_keyboard_alone(log_in):
    today = timezone.localdate()
    doctor = with_working_hours(
        DoctorFactory(), Weekday(today.weekday()), starts=time(8), ends=time(18)
    )
    siobhan = PatientFactory(given_name="Siobhán", family_name="D'Arcy")
    appointment = AppointmentFactory(
        doctor=doctor, patient=siobhan, starts_at=at(today, 9), status=Status.CONFIRMED
    )
    page = log_in(ReceptionistFactory())
    page.goto(reverse("scheduling:day"))

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    tab_to(page, "Check in Siobhán D'Arcy")
    assert has_visible_focus(page)
    page.keyboard.press("Enter")

    card = page.get_by_test_id(f"appointment-{appointment.pk}")
    expect(card.locator(".badge")).to_have_text("Arrived")
    appointment.refresh_from_db()
    assert appointment.status == Status.ARRIVED
