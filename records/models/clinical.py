"""The clinical content of sessions: notes (with vitals), prescriptions and their
items, addenda. Signed at the session's completion, then locked: a signed row refuses
every change, whichever path tries it."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sessions_app.models import Session

from ..exceptions import RecordLocked


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
    subjective = models.TextField(blank=True, help_text=_("What the patient reports."))
    objective = models.TextField(blank=True, help_text=_("Examination and findings."))
    assessment = models.TextField(blank=True, help_text=_("Diagnosis or impression."))
    plan = models.TextField(blank=True, help_text=_("Treatment, tests, follow-up."))
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
        # Hundredths, so that a temperature typed in °F (to a tenth) reads back as typed.
        max_digits=4,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("30.0")), MaxValueValidator(Decimal("45.0"))],
    )
    weight_kg = models.DecimalField(
        "weight (kg)",
        # Hundredths, so that a weight typed in pounds (to a tenth) reads back as typed.
        max_digits=5,
        decimal_places=2,
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
    # Given when the prescription is signed (`prescription_number`), so that a
    # pharmacy can quote it: RX-2026-000123.
    number = models.CharField(
        _("prescription number"), max_length=20, unique=True, null=True, blank=True, editable=False
    )
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
        return self.number or f"Prescription #{self.pk}"

    def lock_message(self) -> str:
        return (
            f"This prescription was signed on {_signed_on(self.signed_at)}; "
            "write a new prescription or an addendum to the note instead."
        )


def prescription_number(prescription: Prescription, signed_at) -> str:
    """The prescription's number: the year it was signed (in the clinic's zone) and
    its key, unique without a counter to race for; gaps do not matter here."""
    return f"RX-{timezone.localtime(signed_at):%Y}-{prescription.pk:06d}"


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
    strength = models.CharField(max_length=50, blank=True, help_text=_("e.g. 500 mg"))
    dose = models.CharField(max_length=100, help_text=_("e.g. 1 tablet"))
    route = models.CharField(max_length=20, choices=Route.choices, default=Route.ORAL)
    frequency = models.CharField(max_length=100, help_text=_("e.g. three times a day"))
    duration = models.CharField(max_length=100, blank=True, help_text=_("e.g. 7 days"))
    quantity = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(10000)]
    )
    instructions = models.TextField(blank=True, help_text=_("e.g. after meals"))

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
