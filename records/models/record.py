"""The medical record: what every clinician should know about a patient, its
allergies (one row each), and the history of every change to them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import Patient

from ..exceptions import AppendOnly


class BloodType(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    A_POS = "A+", "A+"
    A_NEG = "A-", "A−"
    B_POS = "B+", "B+"
    B_NEG = "B-", "B−"
    AB_POS = "AB+", "AB+"
    AB_NEG = "AB-", "AB−"
    O_POS = "O+", "O+"
    O_NEG = "O-", "O−"


class MedicalRecord(models.Model):
    """What every clinician should know about a patient, whatever the visit.

    Allergies are rows of their own (`allergies`). Having none recorded is not the
    same as having none: `no_known_allergies` is the doctor saying so, and is never
    set while an allergy is recorded (`records.services.update_medical_record`)."""

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="medical_record")
    no_known_allergies = models.BooleanField(
        _("no known allergies"),
        default=False,
        help_text=_("Tick only when you asked and the patient has no known allergies."),
    )
    chronic_conditions = models.TextField(_("chronic conditions"), blank=True)
    current_medications = models.TextField(_("current medications"), blank=True)
    blood_type = models.CharField(
        _("blood type"),
        max_length=3,
        choices=BloodType.choices,
        blank=True,
        default=BloodType.UNKNOWN,
    )
    notes = models.TextField(_("notes"), blank=True)
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


class Severity(models.TextChoices):
    UNKNOWN = "unknown", _("Severity not known")
    MILD = "mild", _("Mild")
    MODERATE = "moderate", _("Moderate")
    SEVERE = "severe", _("Severe")
    LIFE_THREATENING = "life_threatening", _("Life-threatening")


class Allergy(models.Model):
    """One substance the patient reacts to, how badly and how."""

    record = models.ForeignKey(MedicalRecord, on_delete=models.CASCADE, related_name="allergies")
    substance = models.CharField(_("substance"), max_length=100)
    severity = models.CharField(
        _("severity"), max_length=20, choices=Severity.choices, default=Severity.UNKNOWN
    )
    reaction = models.CharField(
        _("reaction"), max_length=200, blank=True, help_text=_("e.g. rash, anaphylaxis")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    CONTENT_FIELDS = ("substance", "severity", "reaction")

    class Meta:
        ordering = [Lower("substance"), "pk"]
        verbose_name_plural = _("allergies")
        constraints = [
            models.UniqueConstraint(
                Lower("substance"),
                "record",
                name="allergy_substance_once_per_record",
                violation_error_message=_("This allergy is recorded already."),
            ),
            models.CheckConstraint(condition=~Q(substance=""), name="allergy_substance_required"),
            models.CheckConstraint(
                condition=Q(severity__in=Severity.values), name="allergy_severity_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        """One line for the history and the print: "Penicillin (severe: rash)"."""
        details = [str(self.get_severity_display())] if self.severity != Severity.UNKNOWN else []
        if self.reaction:
            details.append(self.reaction)
        return f"{self.substance} ({': '.join(details)})" if details else self.substance

    @property
    def is_serious(self) -> bool:
        return self.severity in (Severity.SEVERE, Severity.LIFE_THREATENING)


class RecordChangeQuerySet(models.QuerySet["RecordChange"]):
    def update(self, **kwargs):
        raise AppendOnly("The record's history is append-only; entries cannot be changed.")

    def delete(self):
        raise AppendOnly("The record's history is append-only; entries cannot be deleted.")


class RecordChange(models.Model):
    """One saved change to a medical record: who, when, and each field's old and new
    value (`changes`: a list of {"field", "old", "new"}, an allergy being the field
    "allergy" and its description). Written by `update_medical_record` only;
    append-only like the access log."""

    record = models.ForeignKey(MedicalRecord, on_delete=models.PROTECT, related_name="changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    changes = models.JSONField(default=list)

    objects = RecordChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-changed_at", "-pk"]
        indexes = [models.Index(fields=["record", "-changed_at"], name="recordchange_recent")]

    def __str__(self) -> str:
        return f"Change #{self.pk} to {self.record}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnly("The record's history is append-only; entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("The record's history is append-only; entries cannot be deleted.")
