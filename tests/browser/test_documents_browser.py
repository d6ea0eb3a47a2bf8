"""Documents on the chart in a real browser: a doctor adds a lab report (a PDF) from
the chart, a renamed program is refused with a clear message, the doctor and the
manager download the PDF, and reception (allowed non-clinical documents by the
manager) neither sees it listed nor opens it; a manager withdraws it with a reason.
Screenshots of every page at a laptop's and a phone's size go to var/screenshots/
(or $SCREENSHOTS_DIR), for a person to look at."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import reverse
from playwright.sync_api import Page, expect

from records.models import AccessAction, AccessLog, PatientDocument
from tests.factories import (
    DoctorFactory,
    ManagerFactory,
    MedicalRecordFactory,
    PatientFactory,
    ReceptionistFactory,
    SessionFactory,
)

VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(64)


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


@pytest.fixture(autouse=True)
def documents_folder(settings, tmp_path) -> Path:
    folder = tmp_path / "documents"
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder), "base_url": None},
        },
    }
    return folder


def file_input(name: str, content: bytes, mime: str = "application/pdf") -> dict:
    return {"name": name, "mimeType": mime, "buffer": content}


def test_a_doctor_adds_a_pdf_that_only_clinical_roles_open(
    page: Page, log_in: Callable[..., Page], signed_in: Callable, tmp_path: Path
) -> None:
    smith = DoctorFactory(
        given_name="Alan", family_name="Smith", user__first_name="Alan", user__last_name="Smith"
    )
    jane = PatientFactory(given_name="Jane", family_name="Doe")
    MedicalRecordFactory(patient=jane)
    SessionFactory(doctor=smith, patient=jane, completed=True)
    manager = ManagerFactory(first_name="Maria", last_name="Lopez")
    rita = ReceptionistFactory(first_name="Rita", last_name="Owens")
    rita.user_permissions.add(Permission.objects.get(codename="handle_nonclinical_documents"))
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    log_in(smith.user)

    # From the chart to the add page.
    page.goto(reverse("records:chart", args=[jane.pk]))
    documents = page.get_by_test_id("documents")
    expect(documents).to_contain_text("No documents yet.")
    documents.get_by_role("link", name="Add a document").click()
    expect(page.get_by_role("heading", name="Add a document")).to_be_visible()
    shoot(page, "document-add")

    # A program renamed .pdf is refused, saying why, and nothing is added.
    page.get_by_label("Kind").select_option(label="Lab report")
    page.get_by_label("Title").fill("Full blood count, 12 March")
    page.get_by_label("File").set_input_files(file_input("results.pdf", EXE))
    page.get_by_role("button", name="Add the document").click()
    expect(page.get_by_text("This file is not a PDF, JPEG or PNG")).to_be_visible()
    assert not PatientDocument.objects.exists()
    shoot(page, "document-add-refused")

    # The real PDF is added and listed on the chart, with its kind, date and author.
    page.get_by_label("File").set_input_files(file_input("results.pdf", PDF))
    page.get_by_role("button", name="Add the document").click()
    expect(page.get_by_role("alert").filter(has_text="was added to the chart")).to_be_visible()
    listed = page.get_by_test_id("document")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("Lab report")
    expect(listed).to_contain_text("by Alan Smith")
    shoot(page, "chart-documents")

    # The doctor downloads it; the download is logged.
    with page.expect_download() as download:
        listed.get_by_role("link", name="Full blood count, 12 March").click()
    saved = tmp_path / "downloaded.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes() == PDF
    document = PatientDocument.objects.get()
    reads = AccessLog.objects.filter(
        object_type="records.patientdocument", object_id=document.pk, action=AccessAction.READ
    )
    assert reads.get().user == smith.user

    # Reception, allowed non-clinical documents, neither sees nor opens it.
    desk = signed_in(rita)
    desk.goto(reverse("patients:detail", args=[jane.pk]))
    desk.get_by_role("link", name="Documents").click()
    expect(desk.get_by_role("heading", name="Documents")).to_be_visible()
    expect(desk.get_by_test_id("documents")).to_contain_text("No documents yet.")
    # They add her ID scan (a JPEG), which is theirs to handle.
    desk.get_by_role("link", name="Add a document").click()
    expect(desk.get_by_label("Kind").locator("option")).to_have_text(
        ["Choose…", "Referral letter", "ID scan", "Insurance document"]
    )
    desk.get_by_label("Kind").select_option(label="ID scan")
    desk.get_by_label("Title").fill("Driving licence")
    desk.get_by_label("File").set_input_files(file_input("licence.jpg", JPEG, "image/jpeg"))
    desk.get_by_role("button", name="Add the document").click()
    expect(desk.get_by_test_id("document")).to_have_count(1)
    expect(desk.get_by_test_id("document")).to_contain_text("Driving licence")
    expect(desk.get_by_text("Full blood count")).to_have_count(0)
    shoot(desk, "documents-reception")
    file_url = reverse("records:document_file", args=[document.pk])
    assert desk.request.get(file_url).status == 404
    assert reads.count() == 1

    # The manager opens it, and withdraws it with a reason.
    office = signed_in(manager)
    office.goto(reverse("records:chart", args=[jane.pk]))
    with office.expect_download() as managers_download:
        office.get_by_role("link", name="Full blood count, 12 March", exact=True).click()
    assert managers_download.value.suggested_filename == "results.pdf"
    office.get_by_role("link", name="Withdraw Full blood count, 12 March").click()
    office.get_by_role("button", name="Withdraw the document").click()
    expect(office.get_by_text("Say why the document is withdrawn.")).to_be_visible()
    shoot(office, "document-withdraw")
    office.get_by_label("Why is it withdrawn?").fill("Scanned for the wrong patient")
    office.get_by_role("button", name="Withdraw the document").click()
    expect(office.get_by_test_id("withdrawn")).to_contain_text("Scanned for the wrong patient")
    shoot(office, "chart-documents-withdrawn")

    # The doctor sees it withdrawn, no longer a link, and reception's ID scan.
    page.reload()
    expect(page.get_by_test_id("withdrawn")).to_contain_text("by Maria Lopez")
    expect(page.get_by_role("link", name="Driving licence")).to_be_visible()
    expect(page.get_by_role("link", name="Full blood count, 12 March", exact=True)).to_have_count(0)
    assert refused == []
