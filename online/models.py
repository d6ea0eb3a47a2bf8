"""Patients online (DESIGN.md section 9): the manager's rules for the public booking
site, the codes that verify a patient's phone, the personal links of patients' texts,
and the waitlist with its offers.

Codes and link tokens are stored only as keyed hashes (tokens.digest): a copy of the
database gives no way to use them."""

from __future__ import annotations

from datetime import time, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doctors.models import Doctor
from patients.models import Patient
from scheduling.models import Appointment, Service


class OnlineRules(models.Model):
    """The manager's rules for patients online: one row, edited in the admin."""

    min_notice_minutes = models.PositiveIntegerField(
        _("minimum notice (minutes)"),
        default=120,
        help_text=_("How soon before a time patients may still book it online."),
    )
    horizon_days = models.PositiveSmallIntegerField(
        _("how far ahead (days)"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    new_patients_allowed = models.BooleanField(
        _("new patients may book online"),
        default=True,
        help_text=_("Otherwise only patients the clinic knows (by phone and date of birth)."),
    )
    max_future_bookings = models.PositiveSmallIntegerField(
        _("future online bookings per patient, at most"),
        default=3,
        validators=[MinValueValidator(1)],
    )
    late_cancel_hours = models.PositiveSmallIntegerField(
        _("late-cancel cutoff (hours)"),
        default=24,
        help_text=_("Closer to the appointment than this, patients must phone to cancel."),
    )
    offer_hold_minutes = models.PositiveSmallIntegerField(
        _("waitlist offer held for (minutes)"),
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
    )
    opening_hours = models.TextField(
        _("opening hours"), blank=True, help_text=_("Shown on the booking site, as written.")
    )
    directions = models.CharField(
        _("directions"),
        max_length=300,
        blank=True,
        help_text=_("One line on how to find the clinic, shown with the appointment."),
    )

    class Meta:
        verbose_name = _("online booking rules")
        verbose_name_plural = _("online booking rules")

    def __str__(self) -> str:
        return str(_("Online booking rules"))

    def save(self, *args, **kwargs) -> None:
        self.pk = 1  # One set of rules for the clinic.
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> OnlineRules:
        """The clinic's rules (the defaults until the manager saves them)."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)

    @property
    def min_notice(self) -> timedelta:
        return timedelta(minutes=self.min_notice_minutes)

    @property
    def late_cancel(self) -> timedelta:
        return timedelta(hours=self.late_cancel_hours)

    @property
    def offer_hold(self) -> timedelta:
        return timedelta(minutes=self.offer_hold_minutes)


class PhoneCode(models.Model):
    """A six-digit code texted to verify a phone on the booking site."""

    phone = models.CharField(max_length=20)  # E.164
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["phone", "created_at"], name="phone_code_recent")]

    def __str__(self) -> str:
        return f"Code {self.pk}"


class ManageLink(models.Model):
    """A patient's personal link to one appointment, carried by their texts. Valid
    until the appointment is over (services.appointment_for_link)."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="manage_links"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Link {self.pk} to appointment {self.appointment_id}"


class TimesOfDay(models.TextChoices):
    ANY = "any", _("Any time")
    MORNING = "morning", _("Mornings (before 12:00)")
    AFTERNOON = "afternoon", _("Afternoons (12:00 to 17:00)")
    EVENING = "evening", _("Evenings (from 17:00)")


# The start times each choice covers, [from, to).
TIMES_OF_DAY: dict[str, tuple[time, time]] = {
    TimesOfDay.ANY: (time(0, 0), time(23, 59, 59)),
    TimesOfDay.MORNING: (time(0, 0), time(12, 0)),
    TimesOfDay.AFTERNOON: (time(12, 0), time(17, 0)),
    TimesOfDay.EVENING: (time(17, 0), time(23, 59, 59)),
}


class WaitlistEntryQuerySet(models.QuerySet["WaitlistEntry"]):
    def waiting(self) -> WaitlistEntryQuerySet:
        return self.filter(status=WaitlistEntry.Status.WAITING)

    def in_turn(self) -> WaitlistEntryQuerySet:
        """Who is offered first: the higher priority, then the earlier to join."""
        return self.order_by("-priority", "joined_at", "pk")


class WaitlistEntry(models.Model):
    """A patient waiting for a time to free up: a service, a doctor or any, a range of
    dates and a time of day."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OFFERED = "offered", _("Offered a time")
        BOOKED = "booked", _("Booked")
        REMOVED = "removed", _("Removed")

    class Source(models.TextChoices):
        ONLINE = "online", _("Online")
        DESK = "desk", _("Reception")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="waitlist")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    doctor = models.ForeignKey(
        Doctor,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: any doctor who offers the service."),
    )
    date_from = models.DateField(_("from"))
    date_to = models.DateField(_("until"))
    times_of_day = models.CharField(
        _("times of day"), max_length=10, choices=TimesOfDay.choices, default=TimesOfDay.ANY
    )
    priority = models.SmallIntegerField(
        _("priority"), default=0, help_text=_("Higher is offered first; then who joined first.")
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    source = models.CharField(max_length=10, choices=Source.choices)
    joined_at = models.DateTimeField(default=timezone.now)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The appointment the waitlist booked."),
    )

    objects = WaitlistEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist")
        ordering = ["-priority", "joined_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(date_to__gte=models.F("date_from")),
                name="waitlist_dates_in_order",
                violation_error_message=_("The last date is before the first."),
            ),
        ]
        indexes = [
            models.Index(
                fields=["service", "date_from"],
                condition=Q(status="waiting"),
                name="waitlist_waiting",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} waiting for {self.service}"

    def wants(self, starts_at) -> bool:
        """Whether a time starting at `starts_at` is one this patient asked for."""
        local = timezone.localtime(starts_at)
        first, last = TIMES_OF_DAY[self.times_of_day]
        return self.date_from <= local.date() <= self.date_to and first <= local.time() < last


class WaitlistOffer(models.Model):
    """A held time offered to one waiting patient, by text with a link and YES/NO."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    hold = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="offers")
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    offered_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["offered_at", "pk"]
        constraints = [
            # A hold is offered to one patient at a time.
            models.UniqueConstraint(
                fields=["hold"], condition=Q(status="open"), name="offer_one_open_per_hold"
            ),
        ]
        indexes = [
            models.Index(fields=["expires_at"], condition=Q(status="open"), name="offer_open"),
        ]

    def __str__(self) -> str:
        return f"Offer {self.pk} of appointment {self.hold_id}"
