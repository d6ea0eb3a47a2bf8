"""Breaking the glass in a real browser: a doctor opens the chart of a patient who is
not theirs, is asked why, gives a reason and reads the chart under its banner; a
new sign-in asks again. Screenshots of both pages at a laptop's and a phone's size
go to var/screenshots/ (or $SCREENSHOTS_DIR), for a person to look at."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.urls import reverse
from playwright.sync_api import Page, expect

from records.models import AccessAction, AccessLog
from tests.factories import (
    ClinicalNoteFactory,
    DoctorFactory,
    MedicalRecordFactory,
    PatientFactory,
    SessionFactory,
)

VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}


def screenshots_dir() -> Path:
    folder = Path(os.environ.get("SCREENSHOTS_DIR", settings.BASE_DIR / "var" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shoot(page: Page, name: str) -> None:
    """The page at each viewport, whole, then back to the laptop's size."""
    for size, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=screenshots_dir() / f"{name}-{size}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 768})


def test_a_doctor_breaks_the_glass_on_a_chart(
    page: Page, log_in: Callable[..., Page], signed_in: Callable
) -> None:
    smith = DoctorFactory(
        given_name="Alan", family_name="Smith", user__first_name="Alan", user__last_name="Smith"
    )
    hopper = DoctorFactory(
        given_name="Grace",
        family_name="Hopper",
        user__first_name="Grace",
        user__last_name="Hopper",
    )
    jane = PatientFactory(given_name="Jane", family_name="Doe")
    MedicalRecordFactory(patient=jane)
    visit = SessionFactory(doctor=smith, patient=jane, completed=True)
    ClinicalNoteFactory(session=visit, signed_at=visit.completed_at, signed_by=smith.user)
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    log_in(hopper.user)

    # Not her patient: the chart asks why first.
    page.goto(reverse("records:chart", args=[jane.pk]))
    expect(page.get_by_role("heading", name="Emergency access")).to_be_visible()
    expect(page.get_by_test_id("emergency-warning")).to_contain_text("This patient is not yours.")
    expect(page.get_by_text("Viral bronchitis.")).to_have_count(0)
    shoot(page, "emergency-access-reason")

    # No reason, no chart.
    page.get_by_role("button", name="Open the chart").click()
    expect(page.get_by_text("Choose a reason.")).to_be_visible()
    assert not AccessLog.objects.exists()
    shoot(page, "emergency-access-no-reason")

    page.get_by_label("Covering for the patient's doctor").check()
    page.get_by_label("Details").fill("Dr Smith is on leave; patient called with chest pain")
    page.get_by_role("button", name="Open the chart").click()
    banner = page.get_by_test_id("emergency-access")
    expect(banner).to_contain_text(
        "Covering for the patient's doctor: Dr Smith is on leave; patient called with chest pain"
    )
    expect(banner).to_contain_text("logged and reviewed")
    expect(page.get_by_text("Viral bronchitis.")).to_be_visible()
    # The note is Dr Smith's: no addendum form for Dr Hopper.
    expect(page.get_by_placeholder("Add an addendum")).to_have_count(0)
    shoot(page, "emergency-access-chart")

    # For the rest of the sign-in the chart opens at once.
    page.goto(reverse("records:chart", args=[jane.pk]))
    expect(banner).to_be_visible()
    # A new sign-in asks again.
    again = signed_in(hopper.user)
    again.goto(reverse("records:chart", args=[jane.pk]))
    expect(again.get_by_role("heading", name="Emergency access")).to_be_visible()

    assert AccessLog.objects.filter(action=AccessAction.EMERGENCY).count() == 1
    assert refused == []
