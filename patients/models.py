from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from clinic.kernel.dates import clinic_zone
from clinic.kernel.users import User

from .normalise import name_key

# No patient alive was born before this; an earlier date is a typing slip.
EARLIEST_BIRTH = date(1900, 1, 1)


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Not stated")


class Patient(models.Model):
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    phone = PhoneNumberField(
        blank=True,
        help_text=_(
            "Mobile number for reminders; a local number or +country code. "
            "Optional: without one the patient gets no text messages."
        ),
    )
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    national_id = models.CharField(
        _("national ID"),
        max_length=40,
        blank=True,
        help_text=_("Optional; unique when given."),
    )
    # Set when the patient opted out of SMS (a "STOP" reply or at the desk); None
    # means messages may be sent. The time is kept as the proof of consent withdrawn.
    sms_opted_out_at = models.DateTimeField(_("SMS opted out at"), null=True, blank=True)
    notes = models.TextField(blank=True, help_text=_("Administrative notes, not clinical ones."))
    # The language of the patient's texts and public pages (a code of settings.LANGUAGES);
    # empty is the clinic's own.
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, blank=True, default="", db_default=""
    )
    # Registered by the patient on the public booking site, not yet looked at by
    # reception (who may merge it into an existing patient, then clear the flag).
    registered_online = models.BooleanField(
        _("registered online, to review"), default=False, db_default=False
    )
    # The name as search and the duplicate check compare it (normalise.name_key),
    # kept by save(): one column every database can search and index.
    search_text = models.CharField(max_length=201, editable=False, default="")
    # A patient registered twice and merged (services.merge_patients) stays as a
    # record pointing at the one kept: the access log, which nobody may change,
    # still names it. Searches and the duplicate check leave it out.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="merged_patients",
        # Nearly every patient has none: an index would only tempt the planner
        # away from the search's trigram index.
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["family_name", "given_name", "pk"]
        permissions = [
            ("merge_patients", _("Can merge a patient registered twice into the other")),
        ]
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
        # The duplicate check's look-up by normalised name and date of birth, and a
        # search by date of birth; on PostgreSQL a trigram index on search_text too
        # (migration 0005).
        indexes = [
            models.Index(fields=["phone"], name="patient_phone"),
            models.Index(fields=["family_name", "given_name"], name="patient_name"),
            models.Index(fields=["search_text", "date_of_birth"], name="patient_name_born"),
            # A date of birth typed alone.
            models.Index(fields=["date_of_birth"], name="patient_born"),
        ]

    def __str__(self) -> str:
        return self.full_name

    def save(self, *args, **kwargs) -> None:
        self.search_text = name_key(given_name=self.given_name, family_name=self.family_name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"given_name", "family_name"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "search_text"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("patients:detail", args=[self.pk])

    @property
    def full_name(self) -> str:
        return full_name(self.given_name, self.family_name)

    @property
    def sms_opt_out(self) -> bool:
        return self.sms_opted_out_at is not None

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None

    def clean(self) -> None:
        self.national_id = self.national_id.strip()
        if self.date_of_birth:
            validate_date_of_birth(self.date_of_birth)

    def set_sms_opt_out(self, opted_out: bool) -> None:
        """Record the patient's SMS choice, keeping the time of the first opt-out."""
        if not opted_out:
            self.sms_opted_out_at = None
        elif self.sms_opted_out_at is None:
            self.sms_opted_out_at = timezone.now()


def validate_date_of_birth(born: date) -> None:
    """A plausible date of birth: from 1900 to today in the clinic's zone."""
    if born > timezone.localdate(timezone=clinic_zone()):
        raise ValidationError({"date_of_birth": _("Date of birth cannot be in the future.")})
    if born < EARLIEST_BIRTH:
        raise ValidationError(
            {"date_of_birth": _("Date of birth cannot be before 1 January 1900.")}
        )


def full_name(given_name: str, family_name: str) -> str:
    """How a patient's name is shown, also where only the two columns were read."""
    return f"{given_name} {family_name}"


class PatientMerge(models.Model):
    """The audit of one merge: who merged which patient into which, when, and what
    moved (rows per kind, as each app reported them). Written once, never changed."""

    kept = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="merges_kept")
    merged = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="merge_record")
    merged_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    merged_at = models.DateTimeField(default=timezone.now)
    moved = models.JSONField(default=dict, help_text=_("Rows moved to the kept patient, by kind."))

    class Meta:
        ordering = ["-merged_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kept=models.F("merged")), name="patient_merge_two_patients"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.merged_id} → #{self.kept_id}"
