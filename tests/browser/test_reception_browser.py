"""Reception at the front desk, in a real browser: register a patient, find them."""

from __future__ import annotations

import re

from django.urls import reverse
from playwright.sync_api import Page, expect

from patients.models import Patient
from tests.factories import PatientFactory, ReceptionistFactory


def fill_patient_form(page: Page, *, phone: str) -> None:
    page.get_by_label("Given name").fill("Anna")
    page.get_by_label("Family name").fill("Smith")
    page.get_by_label("Date of birth").fill("1984-03-12")
    page.get_by_label("Sex").select_option(label="Female")
    page.get_by_label("Phone").fill(phone)
    page.get_by_label("Email").fill("anna@example.com")
    page.get_by_label("Address").fill("12 River Road")


def test_receptionist_registers_a_patient_and_finds_them_by_phone(log_in):
    PatientFactory(given_name="Bruno", family_name="Keller", phone="+12025550199")
    page = log_in(ReceptionistFactory(first_name="Rita", last_name="Owens"))

    page.get_by_role("link", name="Register a patient", exact=True).click()
    expect(page.get_by_role("heading", name="Register a patient")).to_be_visible()
    fill_patient_form(page, phone="(202) 555-0161")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("alert").filter(has_text="Anna Smith is registered.")).to_be_visible()
    patient = Patient.objects.get(family_name="Smith")
    expect(page).to_have_url(re.compile(re.escape(patient.get_absolute_url()) + "$"))
    expect(page.get_by_role("heading", name="Anna Smith")).to_be_visible()
    assert patient.given_name == "Anna"
    assert patient.date_of_birth.isoformat() == "1984-03-12"
    assert patient.sex == "female"
    assert patient.phone.as_e164 == "+12025550161"

    page.get_by_role("navigation").get_by_role("link", name="Patients", exact=True).click()
    page.get_by_role("searchbox", name="Search patients").fill("202-555-0161")
    page.get_by_role("button", name="Search", exact=True).click()

    expect(page).to_have_url(re.compile(re.escape(reverse("patients:list")) + r"\?q="))
    results = page.get_by_role("table").locator("tbody tr")
    expect(results).to_have_count(1)
    expect(results).to_contain_text("Smith, Anna")
    expect(results).to_contain_text("+1 202-555-0161")
    expect(page.get_by_text("Keller, Bruno")).to_have_count(0)


def test_invalid_phone_shows_the_error_and_registers_nobody(log_in):
    page = log_in(ReceptionistFactory())

    page.goto(reverse("patients:create"))
    fill_patient_form(page, phone="12345")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_text("Enter a valid phone number")).to_be_visible()
    expect(page.get_by_role("heading", name="Register a patient")).to_be_visible()
    expect(page.get_by_label("Given name")).to_have_value("Anna")
    expect(page.get_by_label("Phone")).to_have_value("12345")
    expect(page.get_by_text("is registered")).to_have_count(0)
    assert not Patient.objects.exists()
