from __future__ import annotations

from collections.abc import Iterable
from datetime import time
from itertools import pairwise

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


class Specialty(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "specialties"

    def __str__(self) -> str:
        return self.name


class DoctorQuerySet(models.QuerySet["Doctor"]):
    def active(self) -> DoctorQuerySet:
        return self.filter(is_active=True)


class Doctor(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="doctor",
        help_text=_("The login this doctor uses on the intranet."),
    )
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    specialty = models.ForeignKey(
        Specialty, on_delete=models.PROTECT, related_name="doctors", null=True, blank=True
    )
    phone = PhoneNumberField(blank=True)
    email = models.EmailField(blank=True)
    # Printed on prescriptions, as a pharmacy expects them.
    qualification = models.CharField(
        _("qualification"), max_length=100, blank=True, help_text=_("e.g. MD, MBBS, FRCP")
    )
    registration_number = models.CharField(
        _("registration number"),
        max_length=50,
        blank=True,
        help_text=_("The licence or registration number with the medical council."),
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive doctors take no new appointments.")
    )
    bookable_online = models.BooleanField(
        _("bookable online"),
        default=False,
        db_default=False,
        help_text=_("Patients may choose this doctor on the public booking site."),
    )

    objects = DoctorQuerySet.as_manager()

    class Meta:
        ordering = ["family_name", "given_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """How the clinic names a doctor to patients: "Dr Smith"."""
        return f"Dr {self.family_name}"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


def first_overlap(
    ranges: Iterable[tuple[time, time]],
) -> tuple[tuple[time, time], tuple[time, time]] | None:
    """The first two ranges that overlap, or None. Ranges are half-open: a range
    ending at 12:00 and one starting at 12:00 do not overlap."""
    ordered = sorted(ranges)
    for earlier, later in pairwise(ordered):
        if later[0] < earlier[1]:
            return earlier, later
    return None


class WorkingHours(models.Model):
    """One range of a doctor's weekly timetable; a day may have several (a split shift)."""

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts = models.TimeField()
    ends = models.TimeField()

    class Meta:
        ordering = ["doctor", "weekday", "starts"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(ends__gt=F("starts")),
                name="working_hours_end_after_start",
                violation_error_message="Working hours must end after they start.",
            ),
        ]
        indexes = [models.Index(fields=["doctor", "weekday"], name="working_hours_doctor_day")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts:%H:%M}–{self.ends:%H:%M}"

    def clean(self) -> None:
        if None in (self.starts, self.ends, self.doctor_id) or self.starts >= self.ends:
            return  # the field and check-constraint validation report these
        siblings = WorkingHours.objects.filter(
            doctor_id=self.doctor_id, weekday=self.weekday
        ).exclude(pk=self.pk)
        clash = first_overlap(
            [(self.starts, self.ends), *((other.starts, other.ends) for other in siblings)]
        )
        if clash:
            raise ValidationError(
                overlap_message(self.get_weekday_display(), clash), code="overlap"
            )


def overlap_message(weekday: str, clash: tuple[tuple[time, time], tuple[time, time]]) -> str:
    first, second = (f"{starts:%H:%M}–{ends:%H:%M}" for starts, ends in clash)
    return f"{weekday} hours {first} and {second} overlap; a doctor's ranges on one day must not."


class TimeOff(models.Model):
    """A period the doctor takes no appointments: leave, a conference, illness."""

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["doctor", "starts_at"]
        verbose_name_plural = "time off"
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="time_off_end_after_start",
                violation_error_message="Time off must end after it starts.",
            ),
        ]
        indexes = [models.Index(fields=["doctor", "starts_at"], name="time_off_doctor_start")]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} – {self.ends_at:%Y-%m-%d %H:%M}"
