"""Documents on the chart (issue 17, point 7): a PDF, JPEG or PNG told by its content,
at most DOCUMENTS_MAX_BYTES, kept in a private storage under a random name and
opened only through the audited file view; reception handles the non-clinical
kinds when a manager allows it, never the clinical ones; a manager withdraws a
document with a reason, and nothing ever edits one.

The scene: Dr Alan Smith saw Jane Doe in March; Dr Grace Hopper never did. The
clock stands at 10:00 on Monday 30 November 2026 in New York.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.services import merge_patients
from records.documents import (
    add_document,
    open_document,
    patient_documents,
    sniff_content_type,
    withdraw_document,
)
from records.exceptions import Forbidden, InvalidClinicalData, ReasonRequired, RecordLocked
from records.models import AccessAction, AccessLog, DocumentKind, PatientDocument
from records.services import break_the_glass
from tests.clock import NEW_YORK
from tests.factories import DoctorFactory, PatientFactory, ReceptionistFactory, SessionFactory
from tests.helpers import postgresql_only, signed_in

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=NEW_YORK)
ROOT = Path(__file__).resolve().parent.parent

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(40)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40)
# The first bytes of a Windows program.
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(64)


@pytest.fixture(autouse=True)
def monday_morning(time_machine) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture(autouse=True)
def documents_folder(settings, tmp_path) -> Path:
    """The documents storage in a folder of the test's own."""
    folder = tmp_path / "documents"
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder), "base_url": None},
        },
    }
    return folder


def stored_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def upload(content: bytes = PDF, name: str = "results.pdf", declared: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=declared)


@pytest.fixture
def jane(db):
    return PatientFactory(given_name="Jane", family_name="Doe")


@pytest.fixture
def visit(doctor, jane):
    """Jane's completed visit with Dr Smith: she is his patient."""
    return SessionFactory(doctor=doctor, patient=jane, completed=True)


@pytest.fixture
def lab_report(visit, doctor, jane) -> PatientDocument:
    return add_document(
        patient=jane,
        by=doctor.user,
        kind=DocumentKind.LAB_REPORT,
        title="Full blood count",
        file=upload(),
    )


@pytest.fixture
def referral(visit, doctor, jane) -> PatientDocument:
    return add_document(
        patient=jane,
        by=doctor.user,
        kind=DocumentKind.REFERRAL_LETTER,
        title="Referral from Dr Adams",
        file=upload(name="referral.pdf"),
    )


@pytest.fixture
def allowed_receptionist(db):
    """A receptionist whom the manager allowed to handle non-clinical documents."""
    receptionist = ReceptionistFactory(first_name="Rita", last_name="Owens")
    receptionist.user_permissions.add(
        Permission.objects.get(codename="handle_nonclinical_documents")
    )
    return receptionist


def file_url(document: PatientDocument) -> str:
    return reverse("records:document_file", args=[document.pk])


def document_reads(document: PatientDocument):
    return AccessLog.objects.filter(
        object_type="records.patientdocument", object_id=document.pk, action=AccessAction.READ
    )


# --- The type, told by the content ----------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [(PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg"), (EXE, None)],
    ids=["pdf", "png", "jpeg", "exe"],
)
def test_the_type_is_told_by_the_first_bytes(head, expected):
    assert sniff_content_type(head) == expected


def test_a_doctor_adds_a_pdf_under_a_random_name(visit, doctor, jane, documents_folder):
    document = add_document(
        patient=jane,
        by=doctor.user,
        kind=DocumentKind.LAB_REPORT,
        title="  Full blood count  ",
        file=upload(name="jane-doe-blood.pdf"),
        ip="203.0.113.7",
    )

    assert document.title == "Full blood count"
    assert document.content_type == "application/pdf"
    assert document.size == len(PDF)
    assert document.sha256 == hashlib.sha256(PDF).hexdigest()
    assert document.original_name == "jane-doe-blood.pdf"
    assert document.uploaded_by == doctor.user
    # Stored under 32 random hex digits, naming neither the patient nor the file.
    [stored] = stored_files(documents_folder)
    assert stored.read_bytes() == PDF
    assert stored.name == document.stored_name
    assert len(stored.stem) == 32
    assert stored.suffix == ".pdf"
    assert "jane" not in stored.name
    write = AccessLog.objects.get(object_type="records.patientdocument")
    assert (write.action, write.user, write.ip_address) == (
        AccessAction.WRITE,
        doctor.user,
        "203.0.113.7",
    )


def test_a_renamed_program_is_refused_and_nothing_is_saved(visit, doctor, jane, documents_folder):
    with pytest.raises(InvalidClinicalData) as refused:
        add_document(
            patient=jane,
            by=doctor.user,
            kind=DocumentKind.LAB_REPORT,
            title="Results",
            file=upload(EXE, name="results.pdf", declared="application/pdf"),
        )

    assert "not a PDF, JPEG or PNG" in refused.value.errors["file"][0]
    assert not PatientDocument.objects.exists()
    assert not AccessLog.objects.exists()
    assert stored_files(documents_folder) == []


def test_the_declared_type_and_the_name_are_ignored(visit, doctor, jane):
    document = add_document(
        patient=jane,
        by=doctor.user,
        kind=DocumentKind.IMAGING,
        title="Wrist X-ray",
        file=upload(PNG, name="xray.pdf", declared="application/pdf"),
    )

    assert document.content_type == "image/png"
    assert document.stored_name.endswith(".png")


def test_a_jpeg_is_accepted(visit, doctor, jane):
    document = add_document(
        patient=jane,
        by=doctor.user,
        kind=DocumentKind.ID_SCAN,
        title="Passport",
        file=upload(JPEG, name="passport.jpeg", declared="image/jpeg"),
    )

    assert document.content_type == "image/jpeg"


def test_a_file_over_the_limit_is_refused(settings, visit, doctor, jane, documents_folder):
    settings.DOCUMENTS_MAX_BYTES = 1000
    at_limit = PDF + bytes(1000 - len(PDF))

    with pytest.raises(InvalidClinicalData) as refused:
        add_document(
            patient=jane,
            by=doctor.user,
            kind=DocumentKind.LAB_REPORT,
            title="Too big",
            file=upload(at_limit + b"\n"),
        )
    assert "at most 1000" in refused.value.errors["file"][0]
    assert stored_files(documents_folder) == []

    add_document(
        patient=jane,
        by=doctor.user,
        kind=DocumentKind.LAB_REPORT,
        title="Just fits",
        file=upload(at_limit),
    )
    assert PatientDocument.objects.get().title == "Just fits"


def test_the_page_shows_the_size_limit_error_and_adds_nothing(settings, visit, doctor, jane):
    settings.DOCUMENTS_MAX_BYTES = 100
    response = signed_in(doctor.user).post(
        reverse("records:add_document", args=[jane.pk]),
        {"kind": "lab_report", "title": "Results", "file": upload(PDF + bytes(200))},
    )

    assert response.status_code == 400
    assert "documents may be at most 100" in response.content.decode()
    assert not PatientDocument.objects.exists()


def test_an_empty_file_or_title_is_refused(visit, doctor, jane):
    with pytest.raises(InvalidClinicalData) as refused:
        add_document(patient=jane, by=doctor.user, kind="lab_report", title=" ", file=upload(b""))

    assert set(refused.value.errors) == {"title", "file"}
    assert not PatientDocument.objects.exists()


def test_an_unknown_kind_is_refused(visit, doctor, jane):
    with pytest.raises(InvalidClinicalData) as refused:
        add_document(patient=jane, by=doctor.user, kind="poem", title="Ode", file=upload())

    assert "kind" in refused.value.errors


# --- Opening a file, audited --------------------------------------------------------


def test_a_doctor_downloads_a_document_and_the_access_is_logged(doctor, lab_report):
    response = signed_in(doctor.user).get(file_url(lab_report), REMOTE_ADDR="198.51.100.4")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="results.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    [read] = document_reads(lab_report)
    assert (read.user, read.patient, read.ip_address) == (
        doctor.user,
        lab_report.patient,
        "198.51.100.4",
    )


def test_every_download_is_logged(doctor, lab_report):
    client = signed_in(doctor.user)
    client.get(file_url(lab_report))
    client.get(file_url(lab_report))

    assert document_reads(lab_report).count() == 2


def test_the_storage_is_served_at_no_url(client, doctor, lab_report):
    client = signed_in(doctor.user)
    for guess in (f"/media/{lab_report.stored_name}", f"/documents/{lab_report.stored_name}"):
        assert client.get(guess).status_code == 404


def test_reception_is_refused_a_clinical_document(allowed_receptionist, lab_report):
    response = signed_in(allowed_receptionist).get(file_url(lab_report))

    assert response.status_code == 404
    assert not document_reads(lab_report).exists()
    with pytest.raises(Forbidden):
        open_document(document=lab_report, user=allowed_receptionist)


def test_reception_cannot_add_a_clinical_document(allowed_receptionist, jane, documents_folder):
    with pytest.raises(Forbidden):
        add_document(
            patient=jane,
            by=allowed_receptionist,
            kind=DocumentKind.LAB_REPORT,
            title="Results",
            file=upload(),
        )
    response = signed_in(allowed_receptionist).post(
        reverse("records:add_document", args=[jane.pk]),
        {"kind": "lab_report", "title": "Results", "file": upload()},
    )

    assert response.status_code == 400
    assert "Choose a kind of document you may add." in response.content.decode()
    assert not PatientDocument.objects.exists()
    assert stored_files(documents_folder) == []


def test_allowed_reception_adds_and_opens_a_referral_letter(allowed_receptionist, jane):
    client = signed_in(allowed_receptionist)
    response = client.post(
        reverse("records:add_document", args=[jane.pk]),
        {"kind": "referral_letter", "title": "Referral from Dr Adams", "file": upload()},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("records:documents", args=[jane.pk])
    referral = PatientDocument.objects.get()
    assert client.get(file_url(referral)).status_code == 200
    assert document_reads(referral).get().user == allowed_receptionist


def test_reception_sees_only_the_non_clinical_documents(allowed_receptionist, lab_report, referral):
    response = signed_in(allowed_receptionist).get(
        reverse("records:documents", args=[lab_report.patient_id])
    )

    page = response.content.decode()
    assert "Referral from Dr Adams" in page
    assert "Full blood count" not in page
    # The add page offers them the non-clinical kinds only.
    add_page = signed_in(allowed_receptionist).get(
        reverse("records:add_document", args=[lab_report.patient_id])
    )
    assert "Referral letter" in add_page.content.decode()
    assert "Lab report" not in add_page.content.decode()


def test_reception_not_allowed_by_the_manager_gets_no_documents(receptionist, referral):
    client = signed_in(receptionist)

    assert client.get(file_url(referral)).status_code == 403
    assert client.get(reverse("records:documents", args=[referral.patient_id])).status_code == 403
    assert (
        client.get(reverse("records:add_document", args=[referral.patient_id])).status_code == 403
    )
    assert not document_reads(referral).exists()


def test_another_doctor_states_a_reason_before_opening_a_document(lab_report, jane):
    hopper = DoctorFactory(given_name="Grace", family_name="Hopper")
    client = signed_in(hopper.user)

    response = client.get(file_url(lab_report))
    assert response.status_code == 302
    assert response["Location"] == reverse("records:emergency_access", args=[jane.pk])
    assert not document_reads(lab_report).exists()
    with pytest.raises(ReasonRequired):
        open_document(document=lab_report, user=hopper.user)

    client.post(
        reverse("records:emergency_access", args=[jane.pk]),
        {"reason": "results", "details": "The lab called"},
    )
    assert client.get(file_url(lab_report)).status_code == 200
    assert document_reads(lab_report).get().description.endswith("(emergency access)")


def test_another_doctor_states_a_reason_before_adding_a_document(visit, jane):
    hopper = DoctorFactory(given_name="Grace", family_name="Hopper")
    client = signed_in(hopper.user)
    add_url = reverse("records:add_document", args=[jane.pk])
    reason_page = reverse("records:emergency_access", args=[jane.pk])

    assert client.get(add_url)["Location"] == reason_page
    response = client.post(add_url, {"kind": "lab_report", "title": "Results", "file": upload()})
    assert response["Location"] == reason_page
    # The document list is reception's; a doctor is sent to the chart, which asks.
    assert client.get(reverse("records:documents", args=[jane.pk]))["Location"] == reverse(
        "records:chart", args=[jane.pk]
    )
    assert not PatientDocument.objects.exists()


def test_a_grant_opens_documents_in_the_service_too(lab_report, jane):
    hopper = DoctorFactory(given_name="Grace", family_name="Hopper")
    grant = break_the_glass(patient=jane, by=hopper.user, reason="covering", details="")

    open_document(document=lab_report, user=hopper.user, emergency=grant).close()
    assert document_reads(lab_report).count() == 1


def test_a_manager_opens_any_document(manager, lab_report):
    assert signed_in(manager).get(file_url(lab_report)).status_code == 200


def test_a_missing_file_is_a_clear_404_and_no_read(doctor, lab_report, documents_folder):
    for stored in stored_files(documents_folder):
        os.remove(stored)

    assert signed_in(doctor.user).get(file_url(lab_report)).status_code == 404
    assert not document_reads(lab_report).exists()


# --- Never edited; withdrawn by a manager, with a reason ----------------------------


def test_a_document_is_never_edited_nor_deleted(lab_report):
    lab_report.title = "Something else"
    with pytest.raises(RecordLocked):
        lab_report.save()
    with pytest.raises(RecordLocked):
        PatientDocument.objects.filter(pk=lab_report.pk).update(title="Something else")
    with pytest.raises(RecordLocked):
        lab_report.delete()
    with pytest.raises(RecordLocked):
        PatientDocument.objects.all().delete()
    assert PatientDocument.objects.get().title == "Full blood count"


DATABASE_GUARD = "The documents' trigger exists on PostgreSQL only, as the access log's."


@postgresql_only(DATABASE_GUARD)
def test_the_database_refuses_to_edit_or_delete_a_document(lab_report):
    for statement, params in [
        ("UPDATE records_patientdocument SET title = %s WHERE id = %s", ["Other", lab_report.pk]),
        (
            "UPDATE records_patientdocument SET withdrawn_at = now(), withdrawal_reason = 'x', "
            "stored_name = %s WHERE id = %s",
            ["elsewhere.pdf", lab_report.pk],
        ),
        ("DELETE FROM records_patientdocument WHERE id = %s", [lab_report.pk]),
    ]:
        with (
            pytest.raises(DatabaseError, match=r"records_patientdocument: (UPDATE|DELETE) refused"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, params)

    assert PatientDocument.objects.get().title == "Full blood count"
    assert PatientDocument.objects.get().stored_name == lab_report.stored_name


@postgresql_only(DATABASE_GUARD)
def test_the_database_lets_a_document_be_withdrawn_once(manager, lab_report):
    withdraw_document(document=lab_report, by=manager, reason="Duplicate")

    with (
        pytest.raises(DatabaseError, match="UPDATE refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE records_patientdocument SET withdrawal_reason = 'Changed' WHERE id = %s",
            [lab_report.pk],
        )
    assert PatientDocument.objects.get().withdrawal_reason == "Duplicate"


def test_a_manager_withdraws_a_document_with_a_reason(
    manager, doctor, lab_report, documents_folder
):
    withdrawn = withdraw_document(document=lab_report, by=manager, reason="  Wrong patient ")

    assert withdrawn.is_withdrawn
    assert (withdrawn.withdrawn_by, withdrawn.withdrawal_reason) == (manager, "Wrong patient")
    # The file stays; only managers open it now.
    assert len(stored_files(documents_folder)) == 1
    assert signed_in(doctor.user).get(file_url(lab_report)).status_code == 404
    assert signed_in(manager).get(file_url(lab_report)).status_code == 200
    assert AccessLog.objects.filter(description="document withdrawn: Wrong patient").exists()
    with pytest.raises(InvalidClinicalData, match="withdrawn already"):
        withdraw_document(document=lab_report, by=manager, reason="Again")


def test_a_withdrawal_needs_a_reason(manager, lab_report):
    response = signed_in(manager).post(
        reverse("records:withdraw_document", args=[lab_report.pk]), {"reason": "  "}
    )

    assert response.status_code == 400
    assert not PatientDocument.objects.get().is_withdrawn


def test_the_withdrawal_page_withdraws_and_the_chart_says_so(manager, lab_report, jane):
    client = signed_in(manager)
    response = client.post(
        reverse("records:withdraw_document", args=[lab_report.pk]),
        {"reason": "Scanned for the wrong patient"},
    )

    assert response.status_code == 302
    chart = client.get(reverse("records:chart", args=[jane.pk])).content.decode()
    assert "Scanned for the wrong patient" in chart
    assert "Maria Lopez" in chart


def test_only_a_manager_withdraws(doctor, lab_report):
    with pytest.raises(Forbidden):
        withdraw_document(document=lab_report, by=doctor.user, reason="Mine")
    response = signed_in(doctor.user).post(
        reverse("records:withdraw_document", args=[lab_report.pk]), {"reason": "Mine"}
    )
    assert response.status_code == 403
    assert not PatientDocument.objects.get().is_withdrawn


# --- On the chart ---------------------------------------------------------------------


def test_the_doctor_adds_a_document_from_the_chart(visit, doctor, jane):
    client = signed_in(doctor.user)
    chart = client.get(reverse("records:chart", args=[jane.pk])).content.decode()
    add_url = reverse("records:add_document", args=[jane.pk])
    assert add_url in chart

    form = client.get(add_url).content.decode()
    assert 'enctype="multipart/form-data"' in form
    assert "csrfmiddlewaretoken" in form
    response = client.post(
        add_url, {"kind": "lab_report", "title": "Lipid panel", "file": upload()}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("records:chart", args=[jane.pk])
    chart = client.get(reverse("records:chart", args=[jane.pk])).content.decode()
    assert "Lipid panel" in chart
    assert "Lab report" in chart
    assert "Added 2026-11-30 10:00 by" in chart


def test_the_list_shows_nothing_to_those_who_may_not_read_the_chart(lab_report, jane):
    hopper = DoctorFactory(given_name="Grace", family_name="Hopper")

    assert patient_documents(patient=jane, user=hopper.user) == []


def add_documents(patient, by, count: int) -> None:
    for number in range(count):
        add_document(
            patient=patient,
            by=by,
            kind=DocumentKind.LAB_REPORT if number % 2 else DocumentKind.INSURANCE,
            title=f"Document {number}",
            file=upload(),
        )


def chart_queries(client, patient) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("records:chart", args=[patient.pk]))
    assert response.status_code == 200
    return len(queries)


def test_the_chart_queries_do_not_grow_with_its_documents(visit, doctor, manager, jane):
    client = signed_in(doctor.user)
    add_documents(jane, doctor.user, 2)
    few = chart_queries(client, jane)
    add_documents(jane, doctor.user, 40)
    withdraw_document(document=PatientDocument.objects.first(), by=manager, reason="Duplicate")

    many = chart_queries(client, jane)
    assert many == few
    assert many <= 25
    page = client.get(reverse("records:chart", args=[jane.pk])).content.decode()
    assert page.count('data-testid="document"') == 42


def test_the_document_list_queries_are_bounded(
    allowed_receptionist, visit, doctor, jane, django_assert_max_num_queries
):
    add_documents(jane, doctor.user, 30)
    client = signed_in(allowed_receptionist)

    with django_assert_max_num_queries(10):
        response = client.get(reverse("records:documents", args=[jane.pk]))
    assert response.content.decode().count('data-testid="document"') == 15


# --- Settings -------------------------------------------------------------------------


def documents_storage_setting(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess:
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.STORAGES['documents']['BACKEND'])",
        ],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            "ENV_FILE": str(env_file),
            "DEBUG": "true",
            **variables,
        },
        capture_output=True,
        text=True,
        check=False,
    )


def test_documents_go_to_a_private_folder_by_default(tmp_path):
    result = documents_storage_setting(tmp_path)

    assert result.stdout.strip() == "django.core.files.storage.FileSystemStorage"


def test_documents_go_to_s3_by_setting(tmp_path):
    result = documents_storage_setting(
        tmp_path, DOCUMENTS_STORAGE="s3", DOCUMENTS_S3_BUCKET="clinic-documents"
    )

    assert result.stdout.strip() == "storages.backends.s3.S3Storage"


def test_an_unknown_documents_storage_is_refused(tmp_path):
    result = documents_storage_setting(tmp_path, DOCUMENTS_STORAGE="floppy")

    assert result.returncode != 0
    assert "DOCUMENTS_STORAGE" in result.stderr


# --- A patient registered twice -----------------------------------------------------


def test_a_merged_patients_documents_are_on_the_kept_chart_and_open_from_it(
    doctor, manager, lab_report, jane
):
    # Jane was registered twice; her visit (and so Dr Smith's care) and her lab report
    # are on the duplicate, merged into the kept registration.
    kept = PatientFactory(given_name="Jane", family_name="Doe")
    merge_patients(kept=kept, merged=jane, by=manager)
    client = signed_in(doctor.user)

    chart = client.get(reverse("records:chart", args=[kept.pk])).content.decode()
    response = client.get(file_url(lab_report))

    assert "Full blood count" in chart
    assert response.status_code == 200
    lab_report.refresh_from_db()
    assert lab_report.patient == jane  # A document never changes, its patient neither.
    assert document_reads(lab_report).count() == 1
