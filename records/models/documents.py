"""Documents on the chart: PDFs and images a doctor (or, for a referral letter or an
ID scan, reception when the manager allows it) adds to a patient.

A document is never edited: it is added, and a manager may withdraw it with a
reason. Its file lives in the private "documents" storage (settings.STORAGES) under
a random name, never at a public URL; `records.documents` writes and serves it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import Patient

from ..exceptions import RecordLocked


class DocumentKind(models.TextChoices):
    LAB_REPORT = "lab_report", _("Lab report")
    IMAGING = "imaging", _("Imaging")
    CLINICAL_LETTER = "clinical_letter", _("Clinical letter")
    OTHER_CLINICAL = "other_clinical", _("Other clinical document")
    REFERRAL_LETTER = "referral_letter", _("Referral letter")
    ID_SCAN = "id_scan", _("ID scan")
    INSURANCE = "insurance", _("Insurance document")

    @property
    def is_clinical(self) -> bool:
        return self not in NON_CLINICAL_KINDS


# What reception may handle, when a manager allows it: papers about the patient's
# care arrangements and identity, not their health.
NON_CLINICAL_KINDS = frozenset(
    {DocumentKind.REFERRAL_LETTER, DocumentKind.ID_SCAN, DocumentKind.INSURANCE}
)


class DocumentContentType(models.TextChoices):
    """The types a document may have, as detected from its first bytes."""

    PDF = "application/pdf", "PDF"
    PNG = "image/png", "PNG"
    JPEG = "image/jpeg", "JPEG"


# The only fields a withdrawal writes; everything else is fixed once added.
WITHDRAWAL_FIELDS = frozenset(
    {"withdrawn_at", "withdrawn_by", "withdrawn_by_id", "withdrawal_reason"}
)


def documents_storage() -> Storage:
    """The private storage of documents' files (settings.STORAGES["documents"]),
    looked up on each use so that a change of the setting (in tests) is seen."""
    return storages["documents"]


class PatientDocumentQuerySet(models.QuerySet["PatientDocument"]):
    def update(self, **kwargs: Any) -> int:
        # A bulk update may only withdraw (records.documents.withdraw_document);
        # a document's content, kind and file never change.
        if not set(kwargs) <= WITHDRAWAL_FIELDS:
            raise RecordLocked("A document is never edited; withdraw it and add another.")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise RecordLocked("A document is never deleted; a manager withdraws it with a reason.")

    def kinds(self, kinds: frozenset[DocumentKind]) -> PatientDocumentQuerySet:
        return self.filter(kind__in=kinds)


class PatientDocument(models.Model):
    """A file added to a patient's chart: what it is, who added it and when, and
    what its content is (type detected from the bytes, size, SHA-256)."""

    Kind = DocumentKind

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices)
    title = models.CharField(_("title"), max_length=200)
    # The file's name in the documents storage: random, so it says nothing and
    # cannot be guessed; read only through `records.documents`.
    stored_name = models.CharField(max_length=200, unique=True, editable=False)
    original_name = models.CharField(max_length=255, blank=True, editable=False)
    content_type = models.CharField(
        max_length=30, choices=DocumentContentType.choices, editable=False
    )
    size = models.PositiveBigIntegerField(editable=False, help_text="Bytes.")
    sha256 = models.CharField("SHA-256", max_length=64, editable=False)
    uploaded_at = models.DateTimeField(default=timezone.now, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True, editable=False)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    withdrawal_reason = models.CharField(max_length=300, blank=True, editable=False)

    objects = PatientDocumentQuerySet.as_manager()

    class Meta:
        ordering = ["-uploaded_at", "-pk"]
        # Never changed nor deleted: a withdrawal has its own permission.
        default_permissions = ("add", "view")
        permissions = [
            # The managers': a withdrawn document stays listed, with the reason.
            ("withdraw_patientdocument", _("Can withdraw a document with a reason")),
            # Nobody's until a manager grants it on a receptionist's user page.
            (
                "handle_nonclinical_documents",
                _(
                    "Can add and open non-clinical documents (referral letters, ID scans, "
                    "insurance)"
                ),
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "-uploaded_at"], name="document_patient_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=DocumentKind.values), name="document_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(content_type__in=DocumentContentType.values),
                name="document_content_type_valid",
            ),
            # Withdrawn means when, and why; never a reason without the time.
            models.CheckConstraint(
                condition=Q(
                    withdrawn_at__isnull=True, withdrawn_by__isnull=True, withdrawal_reason=""
                )
                | (Q(withdrawn_at__isnull=False) & ~Q(withdrawal_reason="")),
                name="document_withdrawal_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise RecordLocked("A document is never edited; withdraw it and add another.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RecordLocked("A document is never deleted; a manager withdraws it with a reason.")

    @property
    def chart_patient(self) -> Patient:
        """The patient whose chart holds the document (see `chart_patient_id`); its
        reads are logged against that chart."""
        return self.patient.merged_into or self.patient

    @property
    def chart_patient_id(self) -> int:
        """The patient on whose chart the document is: its own, or the one its
        patient was merged into. A document never changes, its patient neither, so
        a merge leaves it where it is and the kept patient's chart lists it."""
        return self.patient.merged_into_id or self.patient_id

    @property
    def is_clinical(self) -> bool:
        return DocumentKind(self.kind).is_clinical

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None
