from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from clinic.kernel.dates import clinic_zone, format_time_of_day
from doctors.models import Doctor, DoctorQuerySet
from patients.models import Patient

from .constraints import (
    ACTIVE,
    MAX_APPOINTMENT_LENGTH,
    MAX_APPOINTMENT_MINUTES,
    MIN_APPOINTMENT_LENGTH,
    MIN_APPOINTMENT_MINUTES,
    NoOverlapConstraint,
)


class ServiceQuerySet(models.QuerySet["Service"]):
    def active(self) -> ServiceQuerySet:
        return self.filter(is_active=True)


class OnlineBooking(models.TextChoices):
    """Whether patients may book a service on the public booking site, and which."""

    NO = "", gettext_lazy("Not online")
    ANYONE = "anyone", gettext_lazy("Online, for anyone")
    NEW = "new", gettext_lazy("Online, for new patients only")
    EXISTING = "existing", gettext_lazy("Online, for existing patients only")


class Service(models.Model):
    """A kind of visit the clinic offers: its code, length and price."""

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=120)
    duration_minutes = models.PositiveSmallIntegerField(
        "default duration (minutes)",
        validators=[
            MinValueValidator(MIN_APPOINTMENT_MINUTES),
            MaxValueValidator(MAX_APPOINTMENT_MINUTES),
        ],
    )
    price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    is_active = models.BooleanField("active", default=True)
    # Who offers it; none chosen means every doctor does (the catalogue before the
    # field existed, and a small clinic where everyone sees everything).
    doctors = models.ManyToManyField(
        Doctor,
        blank=True,
        related_name="offered_services",
        verbose_name=gettext_lazy("offered by"),
        help_text=gettext_lazy("Leave empty when every doctor offers this service."),
    )
    online_booking = models.CharField(
        gettext_lazy("online booking"),
        max_length=10,
        choices=OnlineBooking.choices,
        blank=True,
        default=OnlineBooking.NO,
        db_default=OnlineBooking.NO,
    )
    show_price_online = models.BooleanField(
        gettext_lazy("show the price online"), default=False, db_default=False
    )

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="service_price_not_negative"),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=MIN_APPOINTMENT_MINUTES),
                name="service_duration_at_least_5_min",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.duration_minutes} min)"

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    def offering_doctors(self) -> DoctorQuerySet:
        """The doctors who offer this service, as one query (two subqueries): the
        chosen ones, or every doctor when none is chosen."""
        return Service.doctors_offering(self.pk)

    @staticmethod
    def doctors_offering(service_id: int) -> DoctorQuerySet:
        """offering_doctors of the service with id `service_id`."""
        chosen = Service.doctors.through.objects.filter(service_id=service_id)
        return Doctor.objects.filter(Q(pk__in=chosen.values("doctor_id")) | ~models.Exists(chosen))


class Status(models.TextChoices):
    BOOKED = "booked", gettext_lazy("Booked")
    CONFIRMED = "confirmed", gettext_lazy("Confirmed")
    ARRIVED = "arrived", gettext_lazy("Arrived")
    IN_SESSION = "in_session", gettext_lazy("In session")
    COMPLETED = "completed", gettext_lazy("Completed")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")
    NO_SHOW = "no_show", gettext_lazy("No-show")
    # A freed time kept for the waitlist's offer to one patient (online.waitlist):
    # it holds the time under the overlap constraints until the offer is taken
    # (booked) or lapses (released, which frees it).
    HELD = "held", gettext_lazy("Held for the waitlist")
    RELEASED = "released", gettext_lazy("Waitlist hold released")


@dataclass(frozen=True)
class Step:
    """One step of the lifecycle: the statuses it may start from and where it leads."""

    sources: frozenset[str]
    target: str


# The lifecycle (DESIGN.md section 2), one entry per step a service takes, named as
# its quick action. Two steps may lead to the same status from different ones
# (confirming a booked appointment; undoing the check-in of an arrived one), so a
# service asks for its step, never only for the status it leads to. Rescheduling
# keeps the status and is allowed while the appointment can still be moved
# (RESCHEDULABLE).
STEPS: dict[str, Step] = {
    "confirm": Step(frozenset({Status.BOOKED}), Status.CONFIRMED),
    "check-in": Step(frozenset({Status.CONFIRMED}), Status.ARRIVED),
    # A mistaken check-in, until the doctor starts the session (in_session).
    "undo-check-in": Step(frozenset({Status.ARRIVED}), Status.CONFIRMED),
    "cancel": Step(frozenset({Status.BOOKED, Status.CONFIRMED}), Status.CANCELLED),
    # Only after the start time (services.mark_no_show); an unconfirmed patient who
    # did not come is as absent as a confirmed one.
    "no-show": Step(frozenset({Status.BOOKED, Status.CONFIRMED}), Status.NO_SHOW),
    "begin-visit": Step(frozenset({Status.ARRIVED}), Status.IN_SESSION),
    "complete-visit": Step(frozenset({Status.IN_SESSION}), Status.COMPLETED),
    "take-hold": Step(frozenset({Status.HELD}), Status.BOOKED),
    "release-hold": Step(frozenset({Status.HELD}), Status.RELEASED),
}
# The same lifecycle as a graph: the statuses each status may move to.
TRANSITIONS: dict[str, frozenset[str]] = {
    status: frozenset(step.target for step in STEPS.values() if status in step.sources)
    for status in Status
}
RESCHEDULABLE = frozenset({Status.BOOKED, Status.CONFIRMED})
# The patient is with the doctor, or was: the appointment has its session.
IN_VISIT = frozenset({Status.IN_SESSION, Status.COMPLETED})


def statuses_that_can(step: str) -> frozenset[str]:
    """The statuses from which an appointment may take `step` (a key of STEPS)."""
    return STEPS[step].sources


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def active(self) -> AppointmentQuerySet:
        """Appointments that hold their time (not cancelled, not a no-show)."""
        return self.filter(ACTIVE)

    def overlapping(self, starts_at, ends_at, *, started_after=None) -> AppointmentQuerySet:
        """Active appointments that share any of [starts_at, ends_at); touching
        ends (one ends at 10:00, the next starts at 10:00) do not overlap. One that
        overlaps started less than the longest appointment before `starts_at`: that
        lower bound (`started_after`, which a baked query is given) keeps the search
        to a few hours of a starts_at index."""
        if started_after is None:
            started_after = starts_at - MAX_APPOINTMENT_LENGTH
        return self.active().filter(
            starts_at__lt=ends_at, starts_at__gt=started_after, ends_at__gt=starts_at
        )


class Appointment(models.Model):
    # No index of their own: the (doctor, starts_at) and (patient, starts_at) indexes
    # below begin with them and serve every lookup by doctor or patient.
    doctor = models.ForeignKey(
        Doctor, on_delete=models.PROTECT, related_name="appointments", db_index=False
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="appointments", db_index=False
    )
    service = models.ForeignKey("Service", on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BOOKED)
    reason = models.CharField("reason for visit", max_length=300, blank=True)
    cancellation_reason = models.CharField(max_length=300, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    # Booked at the desk for the patient standing there, and checked in at once
    # (services.book_walk_in): nobody texts them about it. The database's default
    # too, for the writers that insert rows by hand (bench/booking.py).
    walk_in = models.BooleanField(gettext_lazy("walk-in"), default=False, db_default=False)
    # Until when a waitlist hold (status held) is kept for its offer.
    held_until = models.DateTimeField(gettext_lazy("held until"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "pk"]
        permissions = [("view_own_day", "Can see their own day and queue as a doctor")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="appointment_ends_after_start",
                violation_error_message="An appointment must end after it starts.",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gte=F("starts_at") + MIN_APPOINTMENT_LENGTH),
                name="appointment_at_least_5_minutes",
                violation_error_message=(
                    f"An appointment lasts at least {MIN_APPOINTMENT_MINUTES} minutes."
                ),
            ),
            models.CheckConstraint(
                condition=Q(ends_at__lte=F("starts_at") + MAX_APPOINTMENT_LENGTH),
                name="appointment_at_most_8_hours",
                violation_error_message="An appointment lasts at most 8 hours.",
            ),
            NoOverlapConstraint(
                scope="doctor",
                name="appointment_no_doctor_overlap",
                violation_error_message="The doctor already has an appointment at this time.",
            ),
            NoOverlapConstraint(
                scope="patient",
                name="appointment_no_patient_overlap",
                violation_error_message="The patient already has an appointment at this time.",
            ),
        ]
        indexes = [
            models.Index(fields=["doctor", "starts_at"], name="appointment_doctor_start"),
            models.Index(fields=["patient", "starts_at"], name="appointment_patient_start"),
            models.Index(fields=["starts_at"], name="appointment_start"),
        ]

    def __str__(self) -> str:
        local = timezone.localtime(self.starts_at)
        return f"{self.patient} with {self.doctor} on {local:%Y-%m-%d %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("scheduling:detail", args=[self.pk])

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    @property
    def time_range(self) -> str:
        return time_range(self.starts_at, self.ends_at)

    def can_move_to(self, status: str) -> bool:
        return status in TRANSITIONS[self.status]

    def can(self, step: str) -> bool:
        """Whether the lifecycle lets this appointment take `step` now (its status
        only; the services add the rules of time)."""
        return self.status in STEPS[step].sources

    @property
    def is_waiting(self) -> bool:
        """Checked in and not yet with the doctor: in the doctor's queue."""
        return self.status == Status.ARRIVED

    @property
    def has_visit(self) -> bool:
        """The doctor has started (or finished) the appointment's session."""
        return self.status in IN_VISIT

    @property
    def offered_actions(self) -> frozenset[str]:
        return offered_actions(self.status, self.starts_at)


def time_range(starts_at, ends_at) -> str:
    """When an appointment runs: start and end as hours and minutes in the clinic's
    time zone, in the clinic's format (24 h or 12 h), joined by an en dash.
    Formatted here, not by the template's `time` filter, whose locale lookups cost
    a busy day view several milliseconds."""
    return f"{format_time_of_day(starts_at)}–{format_time_of_day(ends_at)}"


# The quick actions of the lifecycle a page may offer, in the order of the buttons.
QUICK_STEPS = ("confirm", "check-in", "undo-check-in", "no-show", "cancel")


def offered_actions(
    status: str, starts_at: datetime, now: datetime | None = None
) -> frozenset[str]:
    """The quick actions a page offers now for an appointment in `status` starting
    at `starts_at`: check-in only on the appointment's day (in the clinic's zone),
    no-show only once it has started. A hint for the buttons only: the services
    decide, and refuse what is not allowed."""
    now = now or timezone.now()
    actions = {step for step in QUICK_STEPS if status in STEPS[step].sources}
    if now < starts_at:
        actions.discard("no-show")
    if "check-in" in actions and not same_clinic_day(now, starts_at):
        actions.discard("check-in")
    if status in RESCHEDULABLE:
        actions.add("reschedule")
    return frozenset(actions)


def same_clinic_day(one: datetime, other: datetime) -> bool:
    """Whether two instants fall on the same calendar day in the clinic's zone."""
    zone = clinic_zone()
    return one.astimezone(zone).date() == other.astimezone(zone).date()


class AppointmentChange(models.Model):
    """One entry of an appointment's history: who changed what, when, from and to.

    Append-only: entries are written by the scheduling services and never edited."""

    class Action(models.TextChoices):
        BOOKED = "booked", gettext_lazy("Booked")
        BOOKED_WALK_IN = "booked_walk_in", gettext_lazy("Booked as a walk-in")
        CONFIRMED = "confirmed", gettext_lazy("Confirmed")
        RESCHEDULED = "rescheduled", gettext_lazy("Rescheduled")
        CANCELLED = "cancelled", gettext_lazy("Cancelled")
        CHECKED_IN = "checked_in", gettext_lazy("Checked in")
        CHECK_IN_UNDONE = "check_in_undone", gettext_lazy("Check-in undone")
        NEEDS_REBOOKING = "needs_rebooking", gettext_lazy("Needs rebooking")
        REBOOKING_CALL = "rebooking_call", gettext_lazy("Told the clinic will call")
        NO_SHOW = "no_show", gettext_lazy("Marked no-show")
        SESSION_STARTED = "session_started", gettext_lazy("Session started")
        COMPLETED = "completed", gettext_lazy("Completed")
        HELD = "held", gettext_lazy("Held for a waitlist offer")
        HOLD_RELEASED = "hold_released", gettext_lazy("Waitlist hold released")
        HOLD_TAKEN = "hold_taken", gettext_lazy("Booked from the waitlist")

    class Via(models.TextChoices):
        """Who acted, when it was not a member of staff (changed_by is then empty)."""

        STAFF = "", gettext_lazy("staff")
        ONLINE = "online", gettext_lazy("the patient online")
        SMS = "sms", gettext_lazy("the patient by SMS reply")
        WAITLIST = "waitlist", gettext_lazy("the waitlist")

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="changes")
    action = models.CharField(max_length=20, choices=Action.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices)
    from_starts_at = models.DateTimeField(null=True, blank=True)
    from_ends_at = models.DateTimeField(null=True, blank=True)
    to_starts_at = models.DateTimeField()
    to_ends_at = models.DateTimeField()
    # A move to another doctor: who had it and who has it now (both empty otherwise).
    from_doctor = models.ForeignKey(
        Doctor, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_doctor = models.ForeignKey(
        Doctor, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    via = models.CharField(
        max_length=10, choices=Via.choices, blank=True, default="", db_default=""
    )

    class Meta:
        ordering = ["changed_at", "pk"]
        indexes = [
            models.Index(fields=["appointment", "changed_at"], name="change_appointment_time")
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_action_display()} at {timezone.localtime(self.changed_at):%Y-%m-%d %H:%M}"
        )

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Appointment history is append-only; entries are never changed.")
        super().save(*args, **kwargs)

    @property
    def doctor_changed(self) -> bool:
        return self.from_doctor_id is not None and self.from_doctor_id != self.to_doctor_id

    @property
    def times_changed(self) -> bool:
        return self.from_starts_at is not None and (
            (self.from_starts_at, self.from_ends_at) != (self.to_starts_at, self.to_ends_at)
        )


class RebookingFlagQuerySet(models.QuerySet["RebookingFlag"]):
    def open(self) -> RebookingFlagQuerySet:
        """Flags still waiting for reception: not cleared, on an appointment that
        still holds a time the doctor no longer has (booked, confirmed or arrived)."""
        return self.filter(cleared_at__isnull=True, appointment__status__in=NEEDS_CARE)


# The appointments a change of the doctor's hours or time off can strand: the patient
# is still expected. An appointment in session or completed has happened already.
NEEDS_CARE = frozenset({Status.BOOKED, Status.CONFIRMED, Status.ARRIVED})


class RebookingFlag(models.Model):
    """An appointment that needs rebooking: the manager took its time away from the
    doctor (time off, shorter hours) and saved anyway. Reception works the open flags
    from the rebooking list; rescheduling or cancelling the appointment clears its
    flag (scheduling.rebooking.clear_rebooking). Kept once cleared, as a record."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="rebooking_flags"
    )
    reason = models.CharField(max_length=300)
    flagged_at = models.DateTimeField(default=timezone.now)
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # When reception texted the patient that the clinic will call (once per flag).
    patient_told_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = RebookingFlagQuerySet.as_manager()

    class Meta:
        ordering = ["flagged_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment"],
                condition=Q(cleared_at__isnull=True),
                name="rebooking_one_open_flag",
                violation_error_message="The appointment is already flagged for rebooking.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["flagged_at"],
                condition=Q(cleared_at__isnull=True),
                name="rebooking_open_flags",
            ),
        ]

    def __str__(self) -> str:
        return f"Needs rebooking: {self.appointment_id} ({self.reason})"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None
