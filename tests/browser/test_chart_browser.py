"""The chart the doctor keeps, in a real browser: Dr Smith records two allergies
from the session page (the second row added on the page, without a round trip),
goes back to the session, and finds them on the chart with their history and the
vitals of eight visits drawn as trend charts. Screenshots at a laptop's and a
phone's width go to var/shots/ (or $SCREENSHOTS_DIR), for a person to look at."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.urls import reverse
from playwright.sync_api import Page, expect

from records.models import MedicalRecord, RecordChange
from records.rules import allergy_names
from records.services import add_prescription
from tests.clock import NEW_YORK
from tests.factories import ClinicalNoteFactory, DoctorFactory, PatientFactory, SessionFactory

VIEWPORTS = {"wide": (1366, 768), "narrow": (390, 844)}


def shots_dir() -> Path:
    folder = Path(os.environ.get("SCREENSHOTS_DIR", settings.BASE_DIR / "var" / "shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shoot(page: Page, name: str) -> None:
    """The whole page at each width, then back to the laptop's."""
    for size, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=shots_dir() / f"{name}-{size}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 768})


def test_the_doctor_records_an_allergy_from_the_session_page(
    page: Page, log_in: Callable[..., Page]
) -> None:
    smith = DoctorFactory(
        given_name="Alan", family_name="Smith", user__first_name="Alan", user__last_name="Smith"
    )
    jane = PatientFactory(given_name="Jane", family_name="Doe")
    for week in range(8):
        visit = SessionFactory(
            doctor=smith,
            patient=jane,
            completed=True,
            appointment__starts_at=datetime(2026, 1, 5, 10, tzinfo=NEW_YORK)
            + timedelta(weeks=week),
        )
        ClinicalNoteFactory(
            session=visit,
            bp_systolic=(138, 135, 136, 131, 129, 127, 128, 124)[week],
            bp_diastolic=(88, 87, 86, 84, 83, 82, 80, 79)[week],
            pulse=(80, 78, 77, 79, 74, 72, 73, 70)[week],
            temperature_c=Decimal("36.8"),
            weight_kg=Decimal("84.5") - Decimal("0.6") * week,
            signed_at=visit.completed_at,
            signed_by=smith.user,
        )
    today = SessionFactory(doctor=smith, patient=jane, in_progress=True)
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    log_in(smith.user)

    page.goto(reverse("records:session", args=[today.pk]))
    box = page.get_by_test_id("allergies")
    expect(box).to_contain_text("Allergies not recorded")
    box.get_by_role("link", name="Record allergies").click()

    expect(page.get_by_role("heading", name="Medical record of Jane Doe")).to_be_visible()
    page.get_by_label("Substance").fill("Penicillin")
    page.get_by_label("Severity").select_option(label="Life-threatening")
    page.get_by_label("Reaction").fill("anaphylaxis")
    # A second row, added on the page.
    page.get_by_role("button", name="Add another allergy").click()
    rows = page.get_by_test_id("allergy-row")
    expect(rows).to_have_count(2)
    rows.nth(1).get_by_label("Substance").fill("Latex")
    rows.nth(1).get_by_label("Severity").select_option(label="Mild")
    rows.nth(1).get_by_label("Reaction").fill("itching")
    page.get_by_label("Blood type").select_option("A+")
    shoot(page, "chart-record-form")
    page.get_by_role("button", name="Save the medical record").click()

    # Back on the session page, the allergies in its box.
    page.wait_for_url(f"**{reverse('records:session', args=[today.pk])}")
    expect(page.get_by_text("The medical record is saved.")).to_be_visible()
    expect(box).to_contain_text("Penicillin")
    expect(box).to_contain_text("Life-threatening")
    expect(box).to_contain_text("Latex")
    record = MedicalRecord.objects.get(patient=jane)
    assert allergy_names(record) == ["Latex", "Penicillin"]
    assert RecordChange.objects.get(record=record).changed_by == smith.user

    # The doctor's patient page: the appointments, and the way to the chart.
    page.goto(reverse("patients:detail", args=[jane.pk]))
    expect(page.get_by_role("heading", name="Appointments")).to_be_visible()
    shoot(page, "chart-patient-page")
    # The chart: the allergies, the vitals of every visit and their trend, the history.
    page.get_by_test_id("open-chart").click()
    expect(page.get_by_test_id("allergies")).to_contain_text("anaphylaxis")
    expect(page.get_by_test_id("vitals-table").locator("tbody tr")).to_have_count(8)
    for chart in ("blood-pressure", "pulse", "weight"):
        expect(page.get_by_test_id(f"trend-{chart}")).to_be_visible()
    history = page.get_by_test_id("record-history")
    history.locator("summary").click()
    expect(history).to_contain_text("Alan Smith")
    expect(history).to_contain_text("Penicillin (Life-threatening: anaphylaxis)")
    expect(history).to_contain_text("Blood type")
    shoot(page, "chart")
    # The top of the chart on a phone, close up.
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=shots_dir() / "chart-narrow-top.png")
    page.locator("section[aria-labelledby='vitals-heading']").screenshot(
        path=shots_dir() / "chart-narrow-vitals.png"
    )
    page.set_viewport_size({"width": 1366, "height": 768})

    page.goto(reverse("records:session", args=[today.pk]))
    shoot(page, "chart-session-allergies")

    # The printed prescription carries them too.
    prescription = add_prescription(
        session=today,
        by=smith.user,
        items=[{"medication": "Azithromycin", "dose": "1 tablet", "frequency": "daily"}],
    )
    page.goto(reverse("records:print_prescription", args=[prescription.pk]))
    expect(page.get_by_test_id("allergies")).to_contain_text("Penicillin")
    expect(page.get_by_role("link", name="Edit allergies")).to_have_count(0)
    shoot(page, "chart-prescription-print")
    assert refused == []
