"""A whole visit in two browsers at once: reception books, confirms and checks the
patient in; the doctor starts the session, writes the note and a prescription,
completes and signs, and prints the prescription."""

from __future__ import annotations

from datetime import time

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from doctors.models import Weekday
from records.models import AccessLog, ClinicalNote, Prescription
from scheduling.models import Appointment, Status
from tests.factories import (
    DoctorFactory,
    PatientFactory,
    ReceptionistFactory,
    ServiceFactory,
    with_working_hours,
)


def test_a_visit_from_booking_to_printed_prescription(signed_in):
    doctor = DoctorFactory(given_name="Alan", family_name="Smith")
    with_working_hours(doctor, *Weekday, starts=time(0), ends=time(23, 59))
    ServiceFactory(name="Consultation", duration_minutes=30)
    anna = PatientFactory(given_name="Anna", family_name="Smithson")
    reception = signed_in(ReceptionistFactory())
    doctor_page = signed_in(doctor.user)

    # Reception books a walk-in for now (a 5-minute visit, so it fits any hour).
    now = timezone.localtime()
    if now.time() >= time(23, 50):
        pytest.skip("A walk-in this close to midnight would end on the next day.")
    reception.goto(f"{reverse('scheduling:book')}?patient={anna.pk}")
    reception.get_by_label("Doctor").select_option(label="Dr Smith")
    reception.get_by_label("Date").fill(now.date().isoformat())
    reception.get_by_text("Another time or length").click()
    reception.get_by_label("Time").fill(f"{now:%H}:{now.minute - now.minute % 5:02d}")
    reception.get_by_label("Length (minutes)").fill("5")
    reception.get_by_role("button", name="Book at this time").click()
    expect(reception.get_by_role("alert")).to_contain_text("Booked: Anna Smithson with Dr Smith")
    appointment = Appointment.objects.get()

    # Confirms and checks her in from the appointment's page.
    reception.get_by_role("button", name="Confirm").click()
    reception.get_by_role("button", name="Check in").click()
    expect(reception.get_by_role("alert")).to_contain_text("Checked in")

    # The doctor sees her waiting and starts the session.
    doctor_page.goto(reverse("scheduling:my_day"))
    expect(doctor_page.get_by_test_id("queue")).to_contain_text("Anna Smithson")
    doctor_page.get_by_role("button", name="Start session").click()
    expect(doctor_page.get_by_test_id("session-status")).to_have_text("In progress")

    doctor_page.get_by_label("Subjective").fill("Cough for two weeks")
    doctor_page.get_by_label("Assessment").fill("Viral bronchitis")
    doctor_page.get_by_label("Plan").fill("Rest and fluids")
    doctor_page.get_by_label("Medication").fill("Paracetamol")
    doctor_page.get_by_label("Strength").fill("500 mg")
    doctor_page.get_by_label("Dose").fill("1 tablet")
    doctor_page.get_by_label("Frequency").fill("every 6 hours")
    doctor_page.get_by_label("Duration").fill("5 days")
    doctor_page.locator("[name=items-0-quantity]").fill("20")
    doctor_page.get_by_role("button", name="Complete and sign").click()
    expect(doctor_page.get_by_test_id("confirm-note")).to_contain_text("Viral bronchitis")
    doctor_page.get_by_role("button", name="Sign", exact=True).click()
    expect(doctor_page.get_by_role("alert")).to_contain_text(
        "Session completed; the note and prescription are signed."
    )

    # The printable prescription opens in its own tab.
    with doctor_page.context.expect_page() as printed_tab:
        doctor_page.get_by_role("link", name="Print prescription").click()
    printed = printed_tab.value
    expect(printed.get_by_role("table")).to_contain_text("Paracetamol 500 mg")
    expect(printed.get_by_text("Signed electronically by Alan Smith")).to_be_visible()

    appointment.refresh_from_db()
    assert appointment.status == Status.COMPLETED
    assert ClinicalNote.objects.get().is_signed
    assert Prescription.objects.get().is_signed
    # Reception's pages never read clinical content; the doctor's did, and left a trail.
    assert AccessLog.objects.filter(user=doctor.user, action="read").exists()
    assert not AccessLog.objects.exclude(user=doctor.user).exists()
