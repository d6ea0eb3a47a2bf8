"""The medical record: what every clinician should know about a patient."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from patients.models import Patient


class BloodType(models.TextChoices):
    UNKNOWN = "", "Unknown"
    A_POS = "A+", "A+"
    A_NEG = "A-", "A−"
    B_POS = "B+", "B+"
    B_NEG = "B-", "B−"
    AB_POS = "AB+", "AB+"
    AB_NEG = "AB-", "AB−"
    O_POS = "O+", "O+"
    O_NEG = "O-", "O−"


class MedicalRecord(models.Model):
    """What every clinician should know about a patient, whatever the visit."""

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="medical_record")
    allergies = models.TextField(blank=True)
    chronic_conditions = models.TextField(blank=True)
    current_medications = models.TextField(blank=True)
    blood_type = models.CharField(
        max_length=3, choices=BloodType.choices, blank=True, default=BloodType.UNKNOWN
    )
    notes = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        permissions = [
            # The manager's: a doctor reads the charts of their own patients, and any
            # other only after stating a reason (records.selectors).
            ("read_any_chart", _("Can read any patient's chart without stating a reason")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(blood_type__in=BloodType.values),
                name="medicalrecord_blood_type_valid",
                violation_error_message="Choose a blood type from the list.",
            ),
        ]

    def __str__(self) -> str:
        return f"Medical record of {self.patient}"
