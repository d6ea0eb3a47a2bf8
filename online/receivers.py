"""The waitlist hears of freed time: a cancellation, an appointment moved away, the
doctor's time off removed. The refill runs once the change has committed (a
rolled-back cancellation frees nothing), in its own transaction; should it fail, the
change stands and the failure is logged.

A merge of two patients moves the merged one's places on the waitlist (the kept
patient keeps theirs where both wait for the same service) and their personal
links' appointments move with scheduling's own receiver."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils.translation import gettext as _

from doctors.models import Doctor, TimeOff
from patients.models import Patient
from patients.signals import patient_merge_planned, patients_merged
from scheduling import signals as scheduling
from scheduling.models import Appointment

from .models import WaitlistEntry
from .waitlist import refill


def _refill_on_commit(doctor: Doctor, starts_at: datetime, ends_at: datetime) -> None:
    transaction.on_commit(
        partial(refill, doctor=doctor, starts_at=starts_at, ends_at=ends_at), robust=True
    )


@receiver(scheduling.appointment_cancelled)
def refill_cancelled(appointment: Appointment, **kwargs) -> None:
    _refill_on_commit(appointment.doctor, appointment.starts_at, appointment.ends_at)


@receiver(scheduling.appointment_rescheduled)
def refill_moved_away(
    appointment: Appointment,
    previous_starts_at: datetime,
    previous_ends_at: datetime,
    previous_doctor: Doctor | None = None,
    **kwargs,
) -> None:
    _refill_on_commit(previous_doctor or appointment.doctor, previous_starts_at, previous_ends_at)


@receiver(post_delete, sender=TimeOff)
def refill_time_off_removed(instance: TimeOff, **kwargs) -> None:
    _refill_on_commit(instance.doctor, instance.starts_at, instance.ends_at)


def _places_to_move(kept: Patient, merged: Patient):
    """The merged patient's places still in the queue, but not for a service the
    kept patient waits for already (one place each)."""
    live = [WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED]
    kept_services = WaitlistEntry.objects.filter(patient=kept, status__in=live).values("service")
    return WaitlistEntry.objects.filter(patient=merged).exclude(
        status__in=live, service__in=kept_services
    )


@receiver(patient_merge_planned, dispatch_uid="online.plan_patient_merge")
def plan_patient_merge(sender: Any, *, kept: Patient, merged: Patient, **kwargs: Any):
    return [(_("waitlist places"), _places_to_move(kept, merged).count())]


@receiver(patients_merged, dispatch_uid="online.move_waitlist_of_merged_patient")
def move_waitlist(sender: Any, *, kept: Patient, merged: Patient, **kwargs: Any):
    moved = _places_to_move(kept, merged).update(patient=kept)
    # A place for a service the kept patient waits for already is the same wish.
    WaitlistEntry.objects.filter(patient=merged).update(status=WaitlistEntry.Status.REMOVED)
    return [(_("waitlist places"), moved)]
