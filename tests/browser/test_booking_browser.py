"""Reception books in a real browser: free slots appear as the date changes, a
slot books, and a taken time is refused with the clear message."""

from __future__ import annotations

from datetime import time, timedelta

from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from doctors.models import Weekday
from scheduling.models import Appointment
from tests.factories import (
    DoctorFactory,
    PatientFactory,
    ReceptionistFactory,
    ServiceFactory,
    with_working_hours,
)


def test_receptionist_books_a_slot_then_sees_a_conflict_refused(log_in):
    doctor = DoctorFactory(given_name="Alan", family_name="Smith")
    with_working_hours(doctor, *Weekday, starts=time(9), ends=time(12))
    ServiceFactory(name="Consultation", duration_minutes=30)
    anna = PatientFactory(given_name="Anna", family_name="Smithson")
    ben = PatientFactory(given_name="Ben", family_name="Carter")
    day = timezone.localdate() + timedelta(days=7)
    page = log_in(ReceptionistFactory())

    # From the patient's page to the booking page, then to next week's free times.
    page.goto(reverse("patients:detail", args=[anna.pk]))
    page.get_by_role("link", name="Book an appointment").click()
    expect(page.get_by_test_id("chosen-patient")).to_have_text("Anna Smithson")
    # htmx wires up the form once the page has loaded; a change made before that
    # would go unheard, as it would for a person on a slow tablet.
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")
    page.get_by_label("Reason for visit").fill("Persistent cough")
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Date").dispatch_event("change")  # htmx swaps the free times in
    ten_o_clock = page.get_by_role("button", name="10:00", exact=True)
    expect(ten_o_clock).to_be_enabled(timeout=15_000)
    ten_o_clock.click()

    expect(page.get_by_role("alert")).to_contain_text(
        f"Booked: Anna Smithson with Dr Smith on {day:%a %d %b} at 10:00."
    )
    booked = Appointment.objects.get()
    assert (booked.patient, booked.reason) == (anna, "Persistent cough")
    assert timezone.localtime(booked.starts_at).strftime("%Y-%m-%d %H:%M") == f"{day} 10:00"

    # Ben at 10:15 with the same doctor overlaps Anna's 10:00–10:30.
    page.goto(f"{reverse('scheduling:book')}?patient={ben.pk}")
    page.wait_for_function("() => window.htmx !== undefined")
    page.get_by_label("Doctor").select_option(label="Dr Smith")
    page.get_by_label("Date").fill(day.isoformat())
    # The doctor and the date ask for free times again; their answer, swapped in
    # above "Another time or length", moves it down the page: it is clicked once the
    # answer is in, or the click can land where it used to be.
    page.wait_for_load_state("networkidle")
    page.get_by_text("Another time or length").click()
    page.get_by_label("Time").fill("10:15")
    page.get_by_role("button", name="Book at this time").click()

    expect(page.get_by_test_id("booking-error")).to_have_text(
        f"Dr Smith already has an appointment 10:00–10:30 on {day:%a %d %b}."
    )
    assert Appointment.objects.count() == 1
