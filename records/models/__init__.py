"""The medical record, the clinical content of sessions and the access audit log, a
module each; Django finds the models here.

Rules live in `records.services`; the models keep the invariants a write from any
path must obey: vitals in range, a signed note or prescription never changes, and
the access log only grows.
"""

from .audit import AccessAction, AccessLog, AccessLogQuerySet, EmergencyAccess
from .clinical import (
    Addendum,
    ClinicalNote,
    Prescription,
    PrescriptionItem,
    Route,
    Signable,
    prescription_number,
)
from .documents import (
    NON_CLINICAL_KINDS,
    DocumentContentType,
    DocumentKind,
    PatientDocument,
    PatientDocumentQuerySet,
)
from .record import Allergy, BloodType, MedicalRecord, RecordChange, Severity
from .templates import NoteTemplate

__all__ = [
    "NON_CLINICAL_KINDS",
    "AccessAction",
    "AccessLog",
    "AccessLogQuerySet",
    "Addendum",
    "Allergy",
    "BloodType",
    "ClinicalNote",
    "DocumentContentType",
    "DocumentKind",
    "EmergencyAccess",
    "MedicalRecord",
    "NoteTemplate",
    "PatientDocument",
    "PatientDocumentQuerySet",
    "Prescription",
    "PrescriptionItem",
    "RecordChange",
    "Route",
    "Severity",
    "Signable",
    "prescription_number",
]
