"""The medical record, the clinical content of sessions and the access audit log, a
module each; Django finds the models here.

Rules live in `records.services`; the models keep the invariants a write from any
path must obey: vitals in range, a signed note or prescription never changes, and
the access log only grows.
"""

from .audit import AccessAction, AccessLog, AccessLogQuerySet, EmergencyAccess
from .clinical import Addendum, ClinicalNote, Prescription, PrescriptionItem, Route, Signable
from .record import Allergy, BloodType, MedicalRecord, RecordChange, Severity

__all__ = [
    "AccessAction",
    "AccessLog",
    "AccessLogQuerySet",
    "Addendum",
    "Allergy",
    "BloodType",
    "ClinicalNote",
    "EmergencyAccess",
    "MedicalRecord",
    "Prescription",
    "PrescriptionItem",
    "RecordChange",
    "Route",
    "Severity",
    "Signable",
]
