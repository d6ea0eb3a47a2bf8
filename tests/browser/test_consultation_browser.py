"""The consulting room in the browser: the doctor starts the note from a template,
adds three drugs (one the patient is allergic to) and a second service on the page,
signs after the confirmation, sees the read-only page and prints the prescription;
a long prescription prints its header on every page.

Screenshots (wide and narrow) go to var/shots/, with the printed PDFs."""

from __future__ import annotations

import re
import unicodedata
import zlib
from pathlib import Path

from django.urls import reverse
from playwright.sync_api import Page, expect

from records.models import Allergy, ClinicalNote, MedicalRecord, NoteTemplate, Prescription
from records.services import add_prescription, write_note
from scheduling.models import Status as AppointmentStatus
from sessions_app.models import Session, SessionStatus
from sessions_app.services import complete_session
from tests.factories import DoctorFactory, PatientFactory, ServiceFactory, SessionFactory

SHOTS = Path(__file__).resolve().parents[2] / "var" / "shots"
WIDE = {"width": 1366, "height": 768}
NARROW = {"width": 390, "height": 844}


def screenshots(page: Page, name: str) -> None:
    """The page at a desk's width and a phone's, whole; nothing sticks out sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("wide", WIDE), ("narrow", NARROW)):
        page.set_viewport_size(size)
        page.screenshot(path=SHOTS / f"{name}-{label}.png", full_page=True)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} is {overflow}px wider than the window ({label})"
    page.set_viewport_size(WIDE)


def a_session_in_progress() -> Session:
    """Anna's consultation with Dr Smith (MD, registered), started; Anna is allergic
    to penicillin, and the clinic has a cough template for consultations."""
    doctor = DoctorFactory(
        given_name="Alan",
        family_name="Smith",
        qualification="MD, MRCP",
        registration_number="GMC 7654321",
    )
    consultation = ServiceFactory(code="consult", name="Consultation")
    ServiceFactory(code="ecg", name="ECG")
    session = SessionFactory(
        in_progress=True,
        doctor=doctor,
        patient=PatientFactory(given_name="Anna", family_name="Smithson"),
        appointment__service=consultation,
        appointment__status=AppointmentStatus.IN_SESSION,
    )
    record = MedicalRecord.objects.create(patient=session.patient)
    Allergy.objects.create(record=record, substance="Penicillin", reaction="rash")
    NoteTemplate.objects.create(
        name="Cough",
        service=consultation,
        subjective="Cough for … days.",
        objective="Chest: clear.",
        assessment="Viral bronchitis",
        plan="Rest and fluids; review in a week.",
    )
    return session


def fill_item(page: Page, index: int, medication: str, dose: str, frequency: str) -> None:
    page.locator(f"[name=items-{index}-medication]").fill(medication)
    page.locator(f"[name=items-{index}-strength]").fill("500 mg")
    page.locator(f"[name=items-{index}-dose]").fill(dose)
    page.locator(f"[name=items-{index}-frequency]").fill(frequency)
    page.locator(f"[name=items-{index}-duration]").fill("5 days")
    page.locator(f"[name=items-{index}-quantity]").fill("10")


def test_a_consultation_from_template_to_printed_prescription(signed_in, settings):
    settings.CLINIC_ADDRESS = "12 River Road, Springfield"
    settings.CLINIC_PHONE = "+1 555 0100"
    session = a_session_in_progress()
    doctor = signed_in(session.doctor.user)
    doctor.goto(reverse("records:session", args=[session.pk]))
    expect(doctor.get_by_test_id("session-status")).to_have_text("In progress")
    screenshots(doctor, "session-empty")

    # The note is empty: the doctor starts it from the template.
    doctor.get_by_label("Start the note from a template").select_option(
        label="Cough (Consultation)"
    )
    doctor.get_by_role("button", name="Use template").click()
    expect(doctor.get_by_test_id("template-applied")).to_be_visible()
    expect(doctor.get_by_label("Assessment")).to_have_value("Viral bronchitis")
    expect(doctor.get_by_label("Plan")).to_have_value("Rest and fluids; review in a week.")
    doctor.get_by_label("Subjective").fill("Cough for 10 days, worse at night.")

    # Three drugs, added on the page; a fourth added by mistake and removed.
    fill_item(doctor, 0, "Paracetamol", "1 tablet", "every 6 hours")
    add = doctor.get_by_role("button", name="Add a medication")
    add.click()
    fill_item(doctor, 1, "Salbutamol inhaler", "2 puffs", "as needed")
    add.click()
    fill_item(doctor, 2, "Penicillin V", "1 tablet", "four times a day")
    add.click()
    doctor.locator("[name=items-3-medication]").fill("Mistake")
    doctor.locator("[data-formset-row]").filter(
        has=doctor.locator("[name=items-3-medication]")
    ).get_by_role("button", name="Remove").click()
    expect(doctor.locator("[name=items-3-medication]")).to_be_hidden()
    # And a second service.
    doctor.get_by_role("button", name="Add a service").click()
    doctor.locator("[name=performed-1-service]").select_option(label="ECG (30 min)")
    screenshots(doctor, "session-filled")

    # "Complete and sign" shows what will be signed, and the allergy.
    doctor.get_by_role("button", name="Complete and sign").click()
    expect(doctor.get_by_test_id("confirm-note")).to_contain_text("Cough for 10 days")
    items = doctor.get_by_test_id("confirm-items")
    for drug in ("Paracetamol", "Salbutamol inhaler", "Penicillin V"):
        expect(items).to_contain_text(drug)
    expect(items).not_to_contain_text("Mistake")
    expect(doctor.get_by_test_id("confirm-services")).to_contain_text("ECG")
    expect(doctor.get_by_test_id("allergy-warning")).to_contain_text(
        "Penicillin V matches the recorded allergy Penicillin."
    )
    screenshots(doctor, "session-confirmation")
    doctor.get_by_role("button", name="Sign", exact=True).click()
    expect(doctor.get_by_test_id("confirm-error")).to_contain_text("prescribe it anyway")
    assert Session.objects.get(pk=session.pk).status == SessionStatus.IN_PROGRESS
    doctor.get_by_label("I have checked the allergy and prescribe it anyway.").check()
    doctor.get_by_role("button", name="Sign", exact=True).click()

    # The signed page: values, no inputs, one message.
    expect(doctor.get_by_role("alert").first).to_contain_text(
        "Session completed; the note and prescription are signed."
    )
    expect(doctor.get_by_test_id("signed-message")).to_contain_text("Signed by Dr Smith at")
    readonly = doctor.get_by_test_id("session-readonly")
    expect(readonly).to_contain_text("Cough for 10 days, worse at night.")
    expect(readonly).to_contain_text("Salbutamol inhaler")
    expect(readonly).to_contain_text("1 × ECG")
    expect(
        doctor.locator("main textarea, main select, main input:not([type=hidden])")
    ).to_have_count(0)
    screenshots(doctor, "session-signed")

    # The print, in its own tab.
    with doctor.context.expect_page() as tab:
        doctor.get_by_role("link", name="Print prescription").click()
    printed = tab.value
    prescription = Prescription.objects.get(session=session)
    expect(printed.get_by_test_id("rx-number")).to_have_text(prescription.number)
    expect(printed.get_by_test_id("prescriber")).to_contain_text("Alan Smith, MD, MRCP")
    expect(printed.get_by_test_id("prescriber")).to_contain_text("GMC 7654321")
    header = printed.locator("thead")
    expect(header).to_contain_text("12 River Road, Springfield")
    expect(header).to_contain_text("+1 555 0100")
    expect(header).to_contain_text("1985-06-15")
    expect(printed.get_by_role("table")).to_contain_text("Penicillin V 500 mg")
    expect(printed.get_by_text("Signed electronically by Alan Smith")).to_be_visible()
    screenshots(printed, "prescription-print")
    printed.emulate_media(media="print")
    expect(printed.get_by_role("button", name="Print")).to_be_hidden()
    printed.pdf(path=SHOTS / "prescription-print.pdf", format="A4", print_background=True)
    assert ClinicalNote.objects.get(session=session).is_signed


def test_a_long_prescription_prints_its_header_on_every_page(signed_in, settings):
    settings.CLINIC_ADDRESS = "12 River Road, Springfield"
    session = a_session_in_progress()
    doctor_user = session.doctor.user
    write_note(session=session, by=doctor_user, assessment="Many conditions", plan="Many drugs")
    prescription = add_prescription(
        session=session,
        by=doctor_user,
        items=[
            {
                "medication": f"Medication number {number}",
                "strength": "10 mg",
                "dose": "1 tablet",
                "frequency": "once a day",
                "duration": "30 days",
                "quantity": 30,
                "instructions": "With water, in the morning.",
            }
            for number in range(1, 26)
        ],
    )
    complete_session(session=session, by=doctor_user)
    doctor = signed_in(doctor_user)

    doctor.goto(reverse("records:print_prescription", args=[prescription.pk]))
    expect(doctor.get_by_role("table")).to_contain_text("Medication number 25")
    SHOTS.mkdir(parents=True, exist_ok=True)
    pdf = doctor.pdf(path=SHOTS / "prescription-25-items.pdf", format="A4")
    prescription.refresh_from_db()

    pages = pdf_page_texts(pdf)
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        # The header (clinic, prescriber, patient, number) and the column heads.
        for repeated in (
            "Riverside Clinic",
            "12 River Road, Springfield",
            "Alan Smith, MD, MRCP",
            "Anna Smithson",
            prescription.number,
            "Medication",
        ):
            assert repeated in text, f"{repeated!r} missing from page {number}"
    assert "Medication number 25" not in pages[0]
    assert "Medication number 25" in pages[-1]
    assert "Signature" in pages[-1]
    assert "Signature" not in pages[0]


def pdf_page_texts(pdf: bytes) -> list[str]:
    """The text of each page of a PDF that Chromium printed, in page order: its
    fonts map glyphs to characters through their ToUnicode tables, and each page's
    content shows glyphs with `<hex> Tj`. Enough to read our own prints back; not a
    general PDF reader."""
    objects = {int(n): body for n, body in re.findall(rb"(\d+) 0 obj(.*?)endobj", pdf, re.S)}

    def stream(number: int) -> bytes:
        found = re.search(rb"stream\r?\n(.*?)\r?\nendstream", objects[number], re.S)
        assert found is not None
        return zlib.decompress(found.group(1))

    def to_unicode(font: int) -> dict[int, str]:
        table = re.search(rb"/ToUnicode (\d+) 0 R", objects[font])
        assert table is not None
        cmap = stream(int(table.group(1)))
        glyphs = {
            int(code, 16): chr(int(char, 16))
            for code, char in re.findall(rb"<([0-9A-F]+)> <([0-9A-F]{4})>\s*\n", cmap)
        }
        for first, last, char in re.findall(rb"<([0-9A-F]+)> <([0-9A-F]+)> <([0-9A-F]+)>", cmap):
            for offset in range(int(last, 16) - int(first, 16) + 1):
                glyphs[int(first, 16) + offset] = chr(int(char, 16) + offset)
        return glyphs

    kids = re.search(rb"/Type /Pages.*?/Kids \[(.*?)\]", pdf, re.S)
    assert kids is not None
    texts = []
    for page in (int(n) for n in re.findall(rb"(\d+) 0 R", kids.group(1))):
        body = objects[page]
        font_dict = re.search(rb"/Font <<(.*?)>>", body, re.S)
        contents = re.search(rb"/Contents (\d+) 0 R", body)
        assert font_dict is not None
        assert contents is not None
        fonts = {
            name: to_unicode(int(ref))
            for name, ref in re.findall(rb"/(F\d+) (\d+) 0 R", font_dict.group(1))
        }
        glyphs: dict[int, str] = {}
        text = []
        for font, shown in re.findall(
            rb"/(F\d+) [\d.]+ Tf|<([0-9A-F]+)> Tj", stream(int(contents.group(1)))
        ):
            if font:
                glyphs = fonts[font]
            else:
                codes = [int(shown[i : i + 4], 16) for i in range(0, len(shown), 4)]
                text.extend(glyphs.get(code, "?") for code in codes)
        # NFKC: Chromium prints "fi" as its ligature.
        texts.append(unicodedata.normalize("NFKC", "".join(text)))
    return texts
