"""Documents on the chart (DESIGN.md section 6): who may add and open them, adding
one, opening its file, withdrawing it.

Who: those who read clinical content (doctors, managers) add and open documents of
any kind on the charts they may read, as the chart's own rules say (a doctor's own
patients, or any other after stating a reason; `records.selectors`). Reception adds
and opens the non-clinical kinds (referral letter, ID scan, insurance) only when a
manager has given them `records.handle_nonclinical_documents` in admin, and never
sees the clinical ones. A manager withdraws a document with a reason; it stays
listed as withdrawn and its file stays in the storage; only managers open it then.

What: a PDF, PNG or JPEG, told by its first bytes (`sniff_content_type`), whatever
its name or the type the browser declared, at most DOCUMENTS_MAX_BYTES. Files go to
the private "documents" storage under a random name. Every add, open and withdrawal
is written to the access log.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import PurePath

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.kernel.users import User
from patients.models import Patient

from .audit import log_access
from .emergency import EmergencyGrant
from .exceptions import Forbidden, InvalidClinicalData, ReasonRequired, RecordsError
from .models import (
    NON_CLINICAL_KINDS,
    AccessAction,
    DocumentContentType,
    DocumentKind,
    PatientDocument,
)
from .models.documents import documents_storage
from .selectors import _require_access, can_read_clinical_content
from .services import merged_away_message

ADD_PERMISSION = "records.add_patientdocument"
VIEW_PERMISSION = "records.view_patientdocument"
# Reception's, when a manager grants it (records migration "documents").
NON_CLINICAL_PERMISSION = "records.handle_nonclinical_documents"
WITHDRAW_PERMISSION = "records.withdraw_patientdocument"

# The first bytes of each accepted type. Enough to tell these three apart from
# anything else (a renamed program, a web page, an office file); the file is only
# ever handed back as a download, never interpreted by the clinic's server.
SIGNATURES: tuple[tuple[bytes, DocumentContentType], ...] = (
    (b"%PDF-", DocumentContentType.PDF),
    (b"\x89PNG\r\n\x1a\n", DocumentContentType.PNG),
    (b"\xff\xd8\xff", DocumentContentType.JPEG),
)
EXTENSIONS = {
    DocumentContentType.PDF: ".pdf",
    DocumentContentType.PNG: ".png",
    DocumentContentType.JPEG: ".jpg",
}
TITLE_MAX_LENGTH = PatientDocument._meta.get_field("title").max_length or 200
REASON_MAX_LENGTH = PatientDocument._meta.get_field("withdrawal_reason").max_length or 300


def sniff_content_type(head: bytes) -> DocumentContentType | None:
    """The type of a file from its first bytes, or None when it is none of PDF, PNG
    and JPEG."""
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def max_size_display() -> str:
    """The largest file accepted, for people ("10.0 MB")."""
    return filesizeformat(settings.DOCUMENTS_MAX_BYTES)


# --- Who may do what ------------------------------------------------------------


def document_refusal(
    *,
    user: User | AnonymousUser,
    patient_id: int,
    kind: DocumentKind,
    adding: bool = False,
    emergency: EmergencyGrant | None = None,
) -> RecordsError | None:
    """Why `user` may not open (or, `adding`, add) a document of `kind` on the
    patient's chart, or None when they may. A clinical reader who is not the
    patient's doctor gets `ReasonRequired` until they state one (`emergency`)."""
    if not (user.is_authenticated and user.is_active):
        return Forbidden(_("Sign in to open documents."))
    if can_read_clinical_content(user):
        if not user.has_perm(ADD_PERMISSION if adding else VIEW_PERMISSION):
            return Forbidden(_("You may not add documents to charts."))
        try:
            _require_access(user=user, patient_id=patient_id, emergency=emergency)
        except ReasonRequired as refusal:
            return refusal
        return None
    if kind in NON_CLINICAL_KINDS and user.has_perm(NON_CLINICAL_PERMISSION):
        return None
    if kind in NON_CLINICAL_KINDS:
        return Forbidden(_("Ask the clinic's manager to allow you to handle patients' documents."))
    return Forbidden(_("Only doctors and managers can add or open clinical documents."))


def kinds_for(user: User | AnonymousUser) -> list[DocumentKind]:
    """The kinds of document `user` may add and open, whoever the patient: every
    kind for a clinical reader, the non-clinical ones for reception when allowed."""
    if can_read_clinical_content(user):
        return list(DocumentKind)
    if user.is_authenticated and user.has_perm(NON_CLINICAL_PERMISSION):
        return [kind for kind in DocumentKind if kind in NON_CLINICAL_KINDS]
    return []


def may_handle_documents(user: User | AnonymousUser) -> bool:
    return bool(kinds_for(user))


# --- Reads ------------------------------------------------------------------------


def patient_documents(
    *,
    patient: Patient,
    user: User | AnonymousUser,
    emergency: EmergencyGrant | None = None,
) -> list[PatientDocument]:
    """The patient's documents that `user` may see listed, newest first, withdrawn
    ones included (marked): all of them for a clinical reader who may read the chart,
    the non-clinical ones for reception when allowed, else none. One query, two
    for a doctor (whether the patient is theirs)."""
    kinds = kinds_for(user)
    if not kinds:
        return []
    if document_refusal(user=user, patient_id=patient.pk, kind=kinds[0], emergency=emergency):
        return []
    # With those of any patient merged into this one (PatientDocument.chart_patient_id).
    documents = PatientDocument.objects.filter(
        Q(patient=patient) | Q(patient__merged_into=patient)
    ).select_related("uploaded_by", "withdrawn_by")
    if len(kinds) < len(DocumentKind):
        documents = documents.filter(kind__in=kinds)
    return list(documents)


def open_document(
    *,
    document: PatientDocument,
    user: User | AnonymousUser,
    ip: str | None = None,
    emergency: EmergencyGrant | None = None,
) -> File:
    """The document's file, open for reading, for those who may open its kind on
    that chart (`document_refusal`); a withdrawn one for managers only. Logged as a
    read, once the file is found."""
    refusal = document_refusal(
        user=user,
        patient_id=document.chart_patient_id,
        kind=DocumentKind(document.kind),
        emergency=emergency,
    )
    if refusal is not None:
        raise refusal
    if document.is_withdrawn and not user.has_perm(WITHDRAW_PERMISSION):
        raise Forbidden(_("This document was withdrawn."))
    try:
        opened = documents_storage().open(document.stored_name, "rb")
    except FileNotFoundError as missing:
        raise Forbidden(_("This document's file is missing from the storage.")) from missing
    log_access(
        user=user,
        patient=document.chart_patient,
        obj=document,
        action=AccessAction.READ,
        ip=ip,
        description=f"document ({document.kind})"
        + (" (emergency access)" if emergency is not None else ""),
    )
    return opened


def download_name(document: PatientDocument) -> str:
    """The name the file is saved under: the name it came with, with the extension
    of its real type."""
    stem = PurePath(document.original_name or "").stem.strip() or "document"
    return stem[:100] + EXTENSIONS[DocumentContentType(document.content_type)]


# --- Writes -----------------------------------------------------------------------


def add_document(
    *,
    patient: Patient,
    by: User,
    kind: str,
    title: str,
    file: UploadedFile,
    ip: str | None = None,
    emergency: EmergencyGrant | None = None,
) -> PatientDocument:
    """Add a document to the patient's chart: a PDF, PNG or JPEG by its content, at
    most DOCUMENTS_MAX_BYTES, of a kind `by` may add (`document_refusal`). Refused
    with `InvalidClinicalData` (its `errors` per field) or a `Forbidden`, saving
    nothing. Stored under a random name in the documents storage; logged as a write."""
    try:
        document_kind = DocumentKind(kind)
    except ValueError:
        raise InvalidClinicalData(
            _("Choose a kind of document."), errors={"kind": [_("Choose a kind of document.")]}
        ) from None
    if patient.merged_into_id is not None:
        raise InvalidClinicalData(merged_away_message(patient.merged_into_id))
    refusal = document_refusal(
        user=by, patient_id=patient.pk, kind=document_kind, adding=True, emergency=emergency
    )
    if refusal is not None:
        raise refusal
    title = title.strip()
    content_type = _check_content(title=title, file=file)
    digest = _sha256(file)
    storage = documents_storage()
    stored_name = storage.save(f"{uuid.uuid4().hex}{EXTENSIONS[content_type]}", file)
    try:
        with transaction.atomic():
            document = PatientDocument.objects.create(
                patient=patient,
                kind=document_kind,
                title=title,
                stored_name=stored_name,
                original_name=PurePath(file.name or "").name[:255],
                content_type=content_type,
                size=file.size or 0,
                sha256=digest,
                uploaded_by=by,
            )
            log_access(
                user=by,
                patient=patient,
                obj=document,
                action=AccessAction.WRITE,
                ip=ip,
                description=f"document added ({document_kind})",
            )
    except BaseException:
        # No row names the file: it is no document, only a leftover.
        storage.delete(stored_name)
        raise
    return document


def withdraw_document(
    *, document: PatientDocument, by: User, reason: str, ip: str | None = None
) -> PatientDocument:
    """Withdraw a document (managers only, `records.withdraw_patientdocument`),
    saying why. It stays on the chart marked withdrawn, with who, when and why, and
    its file stays in the storage; nothing else about it changes. Refused if it is
    withdrawn already (by one of two managers at once, say)."""
    if not by.has_perm(WITHDRAW_PERMISSION):
        raise Forbidden(_("Only a manager can withdraw a document."))
    reason = reason.strip()
    if not reason:
        message = _("Say why the document is withdrawn.")
        raise InvalidClinicalData(message, errors={"reason": [message]})
    if len(reason) > REASON_MAX_LENGTH:
        message = _("Keep the reason under %(limit)d characters.") % {"limit": REASON_MAX_LENGTH}
        raise InvalidClinicalData(message, errors={"reason": [message]})
    with transaction.atomic():
        withdrawn = PatientDocument.objects.filter(
            pk=document.pk, withdrawn_at__isnull=True
        ).update(withdrawn_at=timezone.now(), withdrawn_by=by, withdrawal_reason=reason)
        if not withdrawn:
            raise InvalidClinicalData(_("This document was withdrawn already."))
        log_access(
            user=by,
            patient=document.chart_patient,
            obj=document,
            action=AccessAction.WRITE,
            ip=ip,
            description=f"document withdrawn: {reason}",
        )
    return PatientDocument.objects.select_related("withdrawn_by").get(pk=document.pk)


def _sha256(file: UploadedFile) -> str:
    """The file's SHA-256, read in chunks (a large upload is a temporary file)."""
    sha256 = hashlib.sha256()
    file.seek(0)
    for chunk in file.chunks():
        sha256.update(chunk)
    file.seek(0)
    return sha256.hexdigest()


def _check_content(*, title: str, file: UploadedFile) -> DocumentContentType:
    """The file's type by its content, once the title and the file pass."""
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = [_("Give the document a title.")]
    elif len(title) > TITLE_MAX_LENGTH:
        errors["title"] = [
            _("Keep the title under %(limit)d characters.") % {"limit": TITLE_MAX_LENGTH}
        ]
    content_type = None
    limit = settings.DOCUMENTS_MAX_BYTES
    if not file.size:
        errors["file"] = [_("The file is empty.")]
    elif file.size > limit:
        errors["file"] = [
            _("The file is %(size)s; documents may be at most %(limit)s.")
            % {"size": filesizeformat(file.size), "limit": filesizeformat(limit)}
        ]
    else:
        file.seek(0)
        content_type = sniff_content_type(file.read(16))
        if content_type is None:
            errors["file"] = [
                _("This file is not a PDF, JPEG or PNG (its content was checked, not its name).")
            ]
    if errors or content_type is None:
        raise InvalidClinicalData(_("The document was not added."), errors=errors)
    return content_type
