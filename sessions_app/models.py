from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from doctors.models import Doctor
from patients.models import Patient
from scheduling.models import Appointment, Service


class SessionStatus(models.TextChoices):
    CREATED = "created", "Created"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class Session(models.Model):
    """The clinical encounter that follows an appointment: one per appointment."""

    appointment = models.OneToOneField(
        Appointment, on_delete=models.PROTECT, related_name="session"
    )
    # Copied from the appointment so the database can keep one session in progress
    # per doctor and per patient.
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="sessions")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="sessions")
    status = models.CharField(
        max_length=20, choices=SessionStatus.choices, default=SessionStatus.CREATED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["doctor"],
                condition=Q(status=SessionStatus.IN_PROGRESS),
                name="session_one_in_progress_per_doctor",
                violation_error_message="The doctor already has a session in progress.",
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(status=SessionStatus.IN_PROGRESS),
                name="session_one_in_progress_per_patient",
                violation_error_message="The patient is already in a session.",
            ),
            models.CheckConstraint(
                condition=Q(status=SessionStatus.CREATED)
                | Q(status=SessionStatus.IN_PROGRESS, started_at__isnull=False)
                | Q(
                    status=SessionStatus.COMPLETED,
                    started_at__isnull=False,
                    completed_at__isnull=False,
                ),
                name="session_times_match_status",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="session_patient_recent"),
            models.Index(fields=["doctor", "status"], name="session_doctor_status"),
        ]

    def __str__(self) -> str:
        return f"Session for {self.appointment}"

    def get_absolute_url(self) -> str:
        # The session's page is the consulting room, which the records app serves:
        # its note, prescriptions and services around this session.
        return reverse("records:session", args=[self.pk])


class PerformedService(models.Model):
    """A service delivered in a session, at the price of the day it was performed."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="performed")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="performed_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="performed_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.service.name}"
