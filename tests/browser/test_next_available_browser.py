"""A receptionist moves a patient to another doctor through "next available", in a
real browser; and books from the next available times. Screenshots of each page,
wide and narrow, go to var/shots/."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from doctors.models import Weekday
from scheduling.models import Appointment
from scheduling.services import book_appointment
from tests.clock import at
from tests.factories import (
    DoctorFactory,
    PatientFactory,
    ReceptionistFactory,
    ServiceFactory,
    with_working_hours,
)

SHOTS = Path(__file__).resolve().parents[2] / "var" / "shots"
WIDE, NARROW = {"width": 1366, "height": 900}, {"width": 390, "height": 844}


def screenshots(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("wide", WIDE), ("narrow", NARROW)):
        page.set_viewport_size(size)
        page.screenshot(path=SHOTS / f"{name}-{label}.png", full_page=True)
    page.set_viewport_size(WIDE)


def htmx_ready(page: Page) -> None:
    # htmx wires up the form once the page has loaded; a change before that goes unheard.
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")


def test_receptionist_moves_a_patient_to_another_doctor_through_next_available(log_in):
    today = timezone.localdate()
    booked_day, jones_day = today + timedelta(days=7), today + timedelta(days=9)
    smith = with_working_hours(
        DoctorFactory(given_name="Alan", family_name="Smith"), *Weekday, ends=time(12)
    )
    # Dr Jones works one day a week, two days after Anna's visit.
    jones = with_working_hours(
        DoctorFactory(given_name="Grace", family_name="Jones"),
        Weekday(jones_day.weekday()),
        ends=time(10),
    )
    consultation = ServiceFactory(name="Consultation", duration_minutes=30)
    anna = PatientFactory(given_name="Anna", family_name="Smithson")
    visit = book_appointment(
        patient=anna,
        doctor=smith,
        service=consultation,
        starts_at=at(booked_day, 10),
        booked_by=None,
    )
    page = log_in(ReceptionistFactory())

    page.goto(visit.get_absolute_url())
    page.get_by_role("link", name="Move").click()
    htmx_ready(page)
    page.get_by_label("Doctor").select_option(label="Dr Jones")
    page.get_by_text("Next available", exact=True).click()

    offered = page.get_by_test_id("next-available")
    expect(offered).to_contain_text(f"{jones_day:%A} {jones_day.day} {jones_day:%B}")
    expect(offered.get_by_role("button", name="09:00 · Dr Jones").first).to_be_enabled()
    # Only Dr Jones is offered, on the days she works, from the date on.
    assert "Dr Smith" not in offered.inner_text()
    screenshots(page, "reschedule-next-available")

    offered.get_by_role("button", name="09:00 · Dr Jones").first.click()

    expect(page.get_by_role("alert")).to_contain_text(
        f"Moved: Anna Smithson with Dr Jones on {jones_day:%a %d %b} at 09:00."
    )
    expect(page.get_by_test_id("moved-between-doctors")).to_have_text(
        f"Moved from Dr Smith {booked_day:%a} {booked_day.day} {booked_day:%b} 10:00 "
        f"to Dr Jones {jones_day:%a} {jones_day.day} {jones_day:%b} 09:00"
    )
    screenshots(page, "moved-to-another-doctor")
    visit.refresh_from_db()
    assert (visit.doctor, visit.starts_at) == (jones, at(jones_day, 9))


def test_receptionist_books_the_next_available_time_of_any_doctor(log_in):
    tomorrow = timezone.localdate() + timedelta(days=1)
    smith = with_working_hours(
        DoctorFactory(given_name="Alan", family_name="Smith"),
        Weekday(tomorrow.weekday()),
        ends=time(10),
    )
    ServiceFactory(name="Consultation", duration_minutes=30)
    ben = PatientFactory(given_name="Ben", family_name="Carter")
    page = log_in(ReceptionistFactory())

    page.goto(f"{reverse('scheduling:book')}?patient={ben.pk}")
    htmx_ready(page)
    page.get_by_text("Next available", exact=True).click()
    offered = page.get_by_test_id("next-available")
    expect(offered.get_by_role("button", name="09:15 · Dr Smith").first).to_be_enabled()
    screenshots(page, "book-next-available")

    offered.get_by_role("button", name="09:15 · Dr Smith").first.click()

    expect(page.get_by_role("alert")).to_contain_text(
        f"Booked: Ben Carter with Dr Smith on {tomorrow:%a %d %b} at 09:15."
    )
    booked = Appointment.objects.get()
    assert (booked.doctor, booked.starts_at) == (smith, at(tomorrow, 9, 15))
