from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Not stated"


class Patient(models.Model):
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    phone = PhoneNumberField(
        help_text="Mobile number for reminders; a local number or +country code."
    )
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    national_id = models.CharField(
        "national ID",
        max_length=40,
        blank=True,
        help_text="Optional; unique when given.",
    )
    # Set when the patient opted out of SMS (a "STOP" reply or at the desk); None
    # means messages may be sent. The time is kept as the proof of consent withdrawn.
    sms_opted_out_at = models.DateTimeField("SMS opted out at", null=True, blank=True)
    notes = models.TextField(blank=True, help_text="Administrative notes, not clinical ones.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["family_name", "given_name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["national_id"],
                condition=~Q(national_id=""),
                name="patient_national_id_unique",
                violation_error_message="Another patient already has this national ID.",
            ),
        ]
        # Exact phone look-ups and the list's ordering. Substring search on names
        # and phones uses trigram indexes, created on PostgreSQL by migration 0002.
        indexes = [
            models.Index(fields=["phone"], name="patient_phone"),
            models.Index(fields=["family_name", "given_name"], name="patient_name"),
        ]

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        return reverse("patients:detail", args=[self.pk])

    @property
    def full_name(self) -> str:
        return full_name(self.given_name, self.family_name)

    @property
    def sms_opt_out(self) -> bool:
        return self.sms_opted_out_at is not None

    def clean(self) -> None:
        self.national_id = self.national_id.strip()
        if self.date_of_birth and self.date_of_birth > timezone.localdate():
            raise ValidationError({"date_of_birth": "Date of birth cannot be in the future."})

    def set_sms_opt_out(self, opted_out: bool) -> None:
        """Record the patient's SMS choice, keeping the time of the first opt-out."""
        if not opted_out:
            self.sms_opted_out_at = None
        elif self.sms_opted_out_at is None:
            self.sms_opted_out_at = timezone.now()


def full_name(given_name: str, family_name: str) -> str:
    """How a patient's name is shown, also where only the two columns were read."""
    return f"{given_name} {family_name}"
