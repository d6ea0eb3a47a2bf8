"""Time off over booked patients in a real browser (issue 16, point 5): the manager
adds time off in admin over a booked patient, is warned with the list and saves
anyway; reception finds the appointment on the rebooking list (counted in the nav),
texts the patient once and opens the move. The clinic's clock stands at Tuesday
1 December 2026, 08:00 in New York (and runs on). Screenshots at a laptop's and a
phone's size go to var/shots/ (or $SCREENSHOTS_DIR), for a person to look at."""

from __future__ import annotations

import os
import re
from datetime import date, time
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import Page, expect

from doctors.models import TimeOff, Weekday
from notifications.models import Notification
from scheduling.models import RebookingFlag, Status
from tests.clock import at
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    ManagerFactory,
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
def scene():
    smith = DoctorFactory(given_name="Alan", family_name="Smith")
    for weekday in (Weekday.MONDAY, Weekday.TUESDAY):
        WorkingHoursFactory(doctor=smith, weekday=weekday, starts=time(9), ends=time(17))
    consultation = ServiceFactory(code="consult", name="Consultation", duration_minutes=30)
    jane = AppointmentFactory(
        doctor=smith,
        patient=PatientFactory(given_name="Jane", family_name="Doe"),
        service=consultation,
        starts_at=at(NEXT_MONDAY, 10),
        status=Status.CONFIRMED,
    )
    AppointmentFactory(
        doctor=smith,
        patient=PatientFactory(given_name="Ann", family_name="Lee"),
        service=consultation,
        starts_at=at(date(2026, 12, 8), 10),
    )
    return smith, jane


def test_the_manager_is_warned_and_reception_texts_the_patient(signed_in, scene):
    smith, jane = scene
    manager = signed_in(ManagerFactory(first_name="Maria", last_name="Lopez"))
    manager.goto(reverse("admin:doctors_timeoff_add"))
    manager.locator("#id_doctor").select_option(label="Dr Smith")
    manager.locator("#id_starts_at_0").fill(NEXT_MONDAY.isoformat())
    manager.locator("#id_starts_at_1").fill("00:00")
    manager.locator("#id_ends_at_0").fill("2026-12-08")
    manager.locator("#id_ends_at_1").fill("00:00")
    manager.locator("#id_reason").fill("Conference")
    manager.get_by_role("button", name="Save", exact=True).click()

    warning = manager.get_by_role("region", name=re.compile("Not saved"))
    expect(warning).to_contain_text("this change strands 1 appointment")
    expect(warning).to_contain_text("Jane Doe")
    expect(warning).to_contain_text("Consultation")
    expect(warning).not_to_contain_text("Ann Lee")
    assert not TimeOff.objects.exists()
    shoot(manager, "rebooking-admin-warning")
    manager.get_by_role("button", name="Save anyway").click()

    expect(manager.locator(".messagelist")).to_contain_text(
        "1 appointment is flagged for rebooking"
    )
    assert TimeOff.objects.get().doctor == smith
    assert RebookingFlag.objects.get().appointment == jane

    reception = signed_in(ReceptionistFactory(first_name="Rita", last_name="Owens"))
    reception.goto(reverse("scheduling:day"))
    expect(reception.get_by_test_id("rebooking-count")).to_contain_text("1")
    reception.get_by_test_id("nav-rebooking").click()
    row = reception.get_by_test_id("rebooking-row")
    expect(row).to_contain_text("Jane Doe")
    expect(row).to_contain_text("Mon 7 Dec 10:00–10:30")
    expect(row).to_contain_text("Conference")
    shoot(reception, "rebooking-list")
    row.get_by_role("button", name="Text the patient Jane Doe").click()

    expect(reception.get_by_role("alert")).to_contain_text(
        "Text queued to Jane Doe: the clinic will call to rebook."
    )
    expect(row.get_by_test_id("texted")).to_be_visible()
    assert Notification.objects.filter(template="rebooking_call").count() == 1
    shoot(reception, "rebooking-list-texted")
    row.get_by_role("link", name="Move the appointment of Jane Doe").click()
    expect(reception).to_have_url(
        re.compile(re.escape(reverse("scheduling:reschedule", args=[jane.pk])) + "$")
    )


def test_shorter_hours_on_the_doctors_page_are_warned_of(signed_in, scene):
    smith, jane = scene
    manager = signed_in(ManagerFactory(first_name="Maria", last_name="Lopez"))
    manager.goto(reverse("admin:doctors_doctor_change", args=[smith.pk]))
    monday = smith.working_hours.get(weekday=Weekday.MONDAY)
    row = manager.locator(f"tr:has(input[name$='-id'][value='{monday.pk}'])")
    row.locator("input[name$='-starts']").fill("12:00")
    manager.get_by_role("button", name="Save", exact=True).click()

    warning = manager.get_by_role("region", name=re.compile("Not saved"))
    expect(warning).to_contain_text("Jane Doe")
    expect(warning).to_contain_text("Working hours on Monday are now 12:00–17:00.")
    monday.refresh_from_db()
    assert monday.starts == time(9)
    shoot(manager, "rebooking-admin-doctor-hours")
    manager.get_by_role("button", name="Save anyway").click()

    expect(manager.locator(".messagelist")).to_contain_text(
        "1 appointment is flagged for rebooking"
    )
    monday.refresh_from_db()
    assert monday.starts == time(12)
    assert RebookingFlag.objects.get().appointment == jane
