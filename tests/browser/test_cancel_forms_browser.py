"""Cancelling from the appointment's page and from the rebooking list in a real
browser: both forms post to the cancel view with a reason picked and details, and
come back to their page. The clinic's clock stands at Tuesday 1 December 2026,
08:00 in New York (and runs on). Screenshots at a laptop's and a phone's size go
to var/shots/ (or $SCREENSHOTS_DIR), for a person to look at."""

from __future__ import annotations

import os
import re
from datetime import date, time
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import Page, expect

from doctors.models import Weekday
from scheduling.models import RebookingFlag, Status
from tests.clock import at
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    PatientFactory,
    ReceptionistFactory,
    ServiceFactory,
    WorkingHoursFactory,
)

VIEWPORTS = {"wide": (1366, 768), "narrow": (390, 844)}
NEXT_MONDAY = date(2026, 12, 7)


@pytest.fixture(autouse=True)
def tuesday_morning(time_machine) -> None:
    time_machine.move_to(at(date(2026, 12, 1), 8), tick=True)


def shoot(page: Page, name: str) -> None:
    folder = Path(os.environ.get("SCREENSHOTS_DIR", settings.BASE_DIR / "var" / "shots"))
    folder.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=folder / f"{name}-{size}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 768})


@pytest.fixture
def jane():
    smith = DoctorFactory(given_name="Alan", family_name="Smith")
    WorkingHoursFactory(doctor=smith, weekday=Weekday.MONDAY, starts=time(9), ends=time(17))
    return AppointmentFactory(
        doctor=smith,
        patient=PatientFactory(given_name="Jane", family_name="Doe"),
        service=ServiceFactory(code="consult", name="Consultation", duration_minutes=30),
        starts_at=at(NEXT_MONDAY, 10),
        status=Status.CONFIRMED,
    )


def test_the_appointment_page_cancels_with_a_reason_picked(signed_in, jane):
    page = signed_in(ReceptionistFactory())
    detail = reverse("scheduling:detail", args=[jane.pk])
    page.goto(detail)
    form = page.get_by_test_id("detail-cancel-form")
    expect(form.get_by_label("Why is it cancelled?")).to_have_value("other")
    shoot(page, "appointment-detail-cancel")

    form.get_by_label("Why is it cancelled?").select_option(label="The patient asked")
    form.get_by_label("Reason for cancelling").fill("Moving away")
    form.get_by_role("button", name="Cancel appointment").click()

    expect(page).to_have_url(re.compile(re.escape(detail) + "$"))
    expect(
        page.get_by_role("alert").filter(has_text="Cancelled: Jane Doe with Dr Smith")
    ).to_be_visible()
    jane.refresh_from_db()
    assert (jane.status, jane.cancellation_reason) == (
        Status.CANCELLED,
        "The patient asked: Moving away",
    )


def test_the_rebooking_list_cancels_as_the_doctor_unavailable(signed_in, jane):
    RebookingFlag.objects.create(
        appointment=jane, reason="Time off Mon 7 Dec 00:00 – Tue 8 Dec 00:00."
    )
    page = signed_in(ReceptionistFactory())
    page.goto(reverse("scheduling:rebooking"))
    page.get_by_text("Cancel…").click()
    form = page.get_by_test_id("rebooking-cancel-form")
    expect(form.get_by_label("Why is it cancelled?")).to_have_value("doctor_unavailable")
    shoot(page, "rebooking-cancel")

    form.get_by_role("button", name="Cancel it").click()

    expect(page).to_have_url(re.compile(re.escape(reverse("scheduling:rebooking")) + "$"))
    expect(page.get_by_role("alert").filter(has_text="Cancelled: Jane Doe")).to_be_visible()
    expect(page.get_by_test_id("rebooking-empty")).to_be_visible()
    jane.refresh_from_db()
    assert (jane.status, jane.cancellation_reason) == (
        Status.CANCELLED,
        "The doctor is unavailable",
    )
