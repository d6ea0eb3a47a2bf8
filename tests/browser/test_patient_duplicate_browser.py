"""Patients in a real browser (issue 16): a receptionist who registers Siobhán
D'Arcy a second time, typed differently, is warned and takes the existing patient;
"darcy" finds her; a patient without a phone is told apart; a manager merges the
duplicate. Screenshots at a laptop's and a phone's width go to var/shots/ (or
$SCREENSHOTS_DIR), for a person to look at."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import Page, expect

from patients.models import Patient, PatientMerge
from tests.factories import AppointmentFactory, ManagerFactory, PatientFactory, ReceptionistFactory

VIEWPORTS = {"wide": (1366, 768), "narrow": (390, 844)}


def shoot(page: Page, name: str) -> None:
    """The page at each width, whole, then back to the laptop's size; and nothing
    wider than the phone's screen at its width."""
    folder = Path(os.environ.get("SCREENSHOTS_DIR", settings.BASE_DIR / "var" / "shots"))
    folder.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=folder / f"{name}-{size}.png", full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{name} is {overflow}px wide at {width}px"
    page.set_viewport_size({"width": 1366, "height": 768})


def fill_registration(page: Page, *, given: str, family: str, born: str, phone: str) -> None:
    page.get_by_label("Given name").fill(given)
    page.get_by_label("Family name").fill(family)
    page.get_by_label("Date of birth").fill(born)
    page.get_by_label("Phone").fill(phone)


@pytest.mark.browser
def test_registering_her_twice_warns_and_offers_the_existing_patient(log_in):
    page = log_in(ReceptionistFactory())

    page.goto(reverse("patients:create"))
    fill_registration(
        page, given="Siobhán", family="D'Arcy", born="1979-04-02", phone="(202) 555-0143"
    )
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Siobhán D'Arcy")).to_be_visible()
    siobhan = Patient.objects.get()

    page.goto(reverse("patients:create"))
    fill_registration(
        page, given="Siobhan", family="D\u2019ARCY", born="1979-04-02", phone="(202) 555-0199"
    )
    page.get_by_role("button", name="Save").click()

    warning = page.get_by_test_id("duplicate-warning")
    expect(warning).to_contain_text("This patient may already be registered")
    expect(warning).to_contain_text("Same name and date of birth")
    expect(page.get_by_role("button", name="Register anyway")).to_be_visible()
    shoot(page, "patient-duplicate-warning")
    assert Patient.objects.count() == 1

    warning.get_by_role("link", name="Use this patient").click()
    expect(page).to_have_url(f"{page.url.split('/patients/')[0]}{siobhan.get_absolute_url()}")
    assert Patient.objects.count() == 1


@pytest.mark.browser
def test_register_anyway_registers_a_namesake(log_in):
    PatientFactory(given_name="Siobhán", family_name="D'Arcy", date_of_birth=date(1979, 4, 2))
    page = log_in(ReceptionistFactory())

    page.goto(reverse("patients:create"))
    fill_registration(page, given="Siobhan", family="Darcy", born="1979-04-02", phone="")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Register anyway").click()

    expect(page.get_by_test_id("no-phone")).to_have_text("No phone: no text messages")
    shoot(page, "patient-without-phone")
    assert Patient.objects.count() == 2


@pytest.mark.browser
def test_darcy_is_found_by_typing_it(log_in):
    PatientFactory(given_name="Siobhán", family_name="D'Arcy", date_of_birth=date(1979, 4, 2))
    PatientFactory(given_name="Anna", family_name="Smith")
    page = log_in(ReceptionistFactory())

    page.goto(reverse("patients:list"))
    page.get_by_label("Search patients").fill("darcy")
    page.get_by_role("button", name="Search").click()

    expect(page.get_by_role("link", name="D'Arcy, Siobhán")).to_be_visible()
    expect(page.get_by_role("link", name="Smith, Anna")).to_have_count(0)
    shoot(page, "patient-search-darcy")


@pytest.mark.browser
def test_manager_merges_the_duplicate(log_in):
    kept = PatientFactory(
        given_name="Siobhán", family_name="D'Arcy", date_of_birth=date(1979, 4, 2)
    )
    twin = PatientFactory(given_name="Siobhan", family_name="Darcy", date_of_birth=date(1979, 4, 2))
    AppointmentFactory(patient=twin, starts_at=datetime(2026, 12, 7, 15, tzinfo=UTC))
    page = log_in(ManagerFactory())

    page.goto(kept.get_absolute_url())
    page.get_by_role("link", name="Merge a duplicate").click()
    page.get_by_label("Find the duplicate").fill("darcy")
    page.get_by_role("button", name="Search").click()
    shoot(page, "patient-merge-choose")
    page.get_by_role("link", name="Merge into the kept patient").click()

    expect(page.get_by_test_id("merge-moves")).to_contain_text("Appointments: 1")
    shoot(page, "patient-merge-confirm")
    page.get_by_role("button", name=f"Merge #{twin.pk} into the kept patient").click()

    expect(page.get_by_role("alert").filter(has_text="is merged into")).to_be_visible()
    assert PatientMerge.objects.get().merged == twin
