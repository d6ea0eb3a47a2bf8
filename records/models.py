"""The medical record, the clinical content of sessions and the access audit log.

Rules live in `records.services`; the models keep the invariants a write from any
path must obey: vitals in range, a signed note or prescription never changes, and
the access log only grows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import Patient
from sessions_app.models import Session

from .exceptions import AppendOnly, RecordLocked


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


def _signature_constraint(prefix: str) -> models.CheckConstraint:
    # A signer without a time is nonsense; a time without a signer is allowed only
    # because the signer's login may one day be gone.
    return models.CheckConstraint(
        condition=Q(signed_by__isnull=True) | Q(signed_at__isnull=False),
        name=f"{prefix}_signer_has_time",
    )


class Signable(models.Model):
    """Signed at completion of the session, then locked: saving a signed row is
    refused whichever path tries it (service, form, admin, shell)."""

    signed_at = models.DateTimeField(null=True, blank=True, editable=False)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        # The stored row decides, not this instance: a stale copy must not
        # overwrite a note signed since it was loaded.
        if not self._state.adding:
            stored = type(self)._default_manager.filter(pk=self.pk, signed_at__isnull=False).first()
            if stored is not None:
                raise RecordLocked(stored.lock_message())
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if type(self)._default_manager.filter(pk=self.pk, signed_at__isnull=False).exists():
            raise RecordLocked("Signed clinical records are kept; they cannot be deleted.")
        return super().delete(*args, **kwargs)

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    def lock_message(self) -> str:
        raise NotImplementedError


def _signed_on(signed_at) -> str:
    return f"{timezone.localtime(signed_at):%d %b %Y at %H:%M}"


class ClinicalNote(Signable):
    """The doctor's note of a session (SOAP), with the vitals taken."""

    session = models.OneToOneField(Session, on_delete=models.PROTECT, related_name="clinical_note")
    subjective = models.TextField(blank=True, help_text="What the patient reports.")
    objective = models.TextField(blank=True, help_text="Examination and findings.")
    assessment = models.TextField(blank=True, help_text="Diagnosis or impression.")
    plan = models.TextField(blank=True, help_text="Treatment, tests, follow-up.")
    bp_systolic = models.PositiveSmallIntegerField(
        "blood pressure, systolic (mmHg)",
        null=True,
        blank=True,
        validators=[MinValueValidator(50), MaxValueValidator(300)],
    )
    bp_diastolic = models.PositiveSmallIntegerField(
        "blood pressure, diastolic (mmHg)",
        null=True,
        blank=True,
        validators=[MinValueValidator(20), MaxValueValidator(200)],
    )
    pulse = models.PositiveSmallIntegerField(
        "pulse (bpm)",
        null=True,
        blank=True,
        validators=[MinValueValidator(20), MaxValueValidator(250)],
    )
    temperature_c = models.DecimalField(
        "temperature (°C)",
        max_digits=3,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("30.0")), MaxValueValidator(Decimal("45.0"))],
    )
    weight_kg = models.DecimalField(
        "weight (kg)",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.3")), MaxValueValidator(Decimal("500.0"))],
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    CONTENT_FIELDS = (
        "subjective",
        "objective",
        "assessment",
        "plan",
        "bp_systolic",
        "bp_diastolic",
        "pulse",
        "temperature_c",
        "weight_kg",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(bp_systolic__isnull=True) | Q(bp_systolic__range=(50, 300)),
                name="clinicalnote_systolic_range",
                violation_error_message="Systolic pressure must be between 50 and 300 mmHg.",
            ),
            models.CheckConstraint(
                condition=Q(bp_diastolic__isnull=True) | Q(bp_diastolic__range=(20, 200)),
                name="clinicalnote_diastolic_range",
                violation_error_message="Diastolic pressure must be between 20 and 200 mmHg.",
            ),
            models.CheckConstraint(
                condition=Q(bp_systolic__isnull=True, bp_diastolic__isnull=True)
                | Q(
                    bp_systolic__isnull=False,
                    bp_diastolic__isnull=False,
                    bp_systolic__gt=F("bp_diastolic"),
                ),
                name="clinicalnote_bp_pair",
                violation_error_message=(
                    "Give both blood pressures, the systolic above the diastolic."
                ),
            ),
            models.CheckConstraint(
                condition=Q(pulse__isnull=True) | Q(pulse__range=(20, 250)),
                name="clinicalnote_pulse_range",
                violation_error_message="The pulse must be between 20 and 250 bpm.",
            ),
            models.CheckConstraint(
                condition=Q(temperature_c__isnull=True)
                | Q(temperature_c__range=(Decimal("30.0"), Decimal("45.0"))),
                name="clinicalnote_temperature_range",
                violation_error_message="The temperature must be between 30 and 45 °C.",
            ),
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=True)
                | Q(weight_kg__range=(Decimal("0.3"), Decimal("500.0"))),
                name="clinicalnote_weight_range",
                violation_error_message="The weight must be between 0.3 and 500 kg.",
            ),
            _signature_constraint("clinicalnote"),
        ]

    def __str__(self) -> str:
        return f"Clinical note #{self.pk}"

    def lock_message(self) -> str:
        return f"This note was signed on {_signed_on(self.signed_at)}; add an addendum instead."


class Prescription(Signable):
    """A prescription written in a session; a session may have several."""

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="prescriptions")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [_signature_constraint("prescription")]
        indexes = [models.Index(fields=["session", "created_at"], name="prescription_session")]

    def __str__(self) -> str:
        return f"Prescription #{self.pk}"

    def lock_message(self) -> str:
        return (
            f"This prescription was signed on {_signed_on(self.signed_at)}; "
            "write a new prescription or an addendum to the note instead."
        )


class Route(models.TextChoices):
    ORAL = "oral", "Oral"
    SUBLINGUAL = "sublingual", "Sublingual"
    TOPICAL = "topical", "Topical"
    INHALED = "inhaled", "Inhaled"
    NASAL = "nasal", "Nasal"
    OPHTHALMIC = "ophthalmic", "Eye drops"
    OTIC = "otic", "Ear drops"
    RECTAL = "rectal", "Rectal"
    SUBCUTANEOUS = "subcutaneous", "Subcutaneous injection"
    INTRAMUSCULAR = "intramuscular", "Intramuscular injection"
    INTRAVENOUS = "intravenous", "Intravenous"


class PrescriptionItem(models.Model):
    prescription = models.ForeignKey(Prescription, on_delete=models.CASCADE, related_name="items")
    medication = models.CharField(max_length=200)
    strength = models.CharField(max_length=50, blank=True, help_text="e.g. 500 mg")
    dose = models.CharField(max_length=100, help_text="e.g. 1 tablet")
    route = models.CharField(max_length=20, choices=Route.choices, default=Route.ORAL)
    frequency = models.CharField(max_length=100, help_text="e.g. three times a day")
    duration = models.CharField(max_length=100, blank=True, help_text="e.g. 7 days")
    quantity = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(10000)]
    )
    instructions = models.TextField(blank=True, help_text="e.g. after meals")

    CONTENT_FIELDS = (
        "medication",
        "strength",
        "dose",
        "route",
        "frequency",
        "duration",
        "quantity",
        "instructions",
    )

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__range=(1, 10000)),
                name="prescriptionitem_quantity_range",
                violation_error_message="The quantity must be between 1 and 10000.",
            ),
            models.CheckConstraint(
                condition=Q(route__in=Route.values),
                name="prescriptionitem_route_valid",
                violation_error_message="Choose a route from the list.",
            ),
            models.CheckConstraint(
                condition=~Q(medication="") & ~Q(dose="") & ~Q(frequency=""),
                name="prescriptionitem_required_text",
                violation_error_message="Give the medication, the dose and the frequency.",
            ),
        ]

    def __str__(self) -> str:
        return " ".join(part for part in (self.medication, self.strength) if part)

    def save(self, *args, **kwargs) -> None:
        # An item belongs to its prescription's signature.
        signed = Prescription.objects.filter(
            pk=self.prescription_id, signed_at__isnull=False
        ).first()
        if signed is not None:
            raise RecordLocked(signed.lock_message())
        super().save(*args, **kwargs)


class Addendum(models.Model):
    """A correction or late entry to a signed note; the note itself never changes."""

    note = models.ForeignKey(ClinicalNote, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "addenda"
        permissions = [
            # The manager's: otherwise only the note's author adds to it (records.rules).
            ("add_addendum_to_any_note", _("Can add an addendum to any doctor's note")),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="addendum_text_required"),
        ]

    def __str__(self) -> str:
        return f"Addendum #{self.pk} to note #{self.note_id}"


class AccessAction(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"
    SIGN = "sign", "Sign"
    ADDENDUM = "addendum", "Addendum"
    # A doctor opened the chart of a patient who is not theirs, giving `reason`.
    EMERGENCY = "emergency", _("Emergency access")


class AccessLogQuerySet(models.QuerySet["AccessLog"]):
    def update(self, **kwargs):
        raise AppendOnly("The access log is append-only; entries cannot be changed.")

    def delete(self):
        raise AppendOnly("The access log is append-only; entries cannot be deleted.")


class AccessLog(models.Model):
    """Who read or wrote which clinical content of which patient, when and from
    where. Append-only: rows are written by `records.audit.log_access` and refuse
    every change; the users and patients they name cannot be deleted (PROTECT)."""

    Action = AccessAction

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        help_text="Empty for the system acting on its own.",
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=10, choices=Action.choices)
    object_type = models.CharField(max_length=100, help_text="e.g. records.clinicalnote")
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    description = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField("IP address", null=True, blank=True)
    reason = models.CharField(
        _("reason"),
        max_length=300,
        blank=True,
        help_text=_("Why the chart was opened, for an emergency access."),
    )

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["patient", "-at"], name="accesslog_patient_recent"),
            models.Index(fields=["user", "-at"], name="accesslog_user_recent"),
            models.Index(fields=["-at"], name="accesslog_recent"),
            # The manager's report of emergency accesses, a sliver of a long log.
            models.Index(
                fields=["-at"],
                condition=Q(action=AccessAction.EMERGENCY),
                name="accesslog_emergency_recent",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=AccessAction.values),
                name="accesslog_action_valid",
            ),
            models.CheckConstraint(
                condition=~Q(action=AccessAction.EMERGENCY) | ~Q(reason=""),
                name="accesslog_emergency_has_reason",
                violation_error_message=_("An emergency access needs its reason."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.action} {self.object_type} #{self.object_id}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnly("The access log is append-only; entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("The access log is append-only; entries cannot be deleted.")


class EmergencyAccessManager(models.Manager["EmergencyAccess"]):
    def get_queryset(self) -> models.QuerySet[EmergencyAccess]:
        # The access log's own queryset, so these rows refuse changes as every row does.
        rows = AccessLogQuerySet(self.model, using=self._db)
        return cast("models.QuerySet[EmergencyAccess]", rows.filter(action=AccessAction.EMERGENCY))


class EmergencyAccess(AccessLog):
    """The access log's emergency accesses ("break the glass"): who opened which
    patient's chart without being their doctor, when, from where and why. Its own
    model only for the manager's report and its permission (view only: the rows
    are the access log's, which nobody changes)."""

    objects = EmergencyAccessManager()  # type: ignore[assignment,misc]  # only the emergency rows

    class Meta:
        proxy = True
        default_permissions = ("view",)
        verbose_name = _("emergency access")
        verbose_name_plural = _("emergency accesses")
