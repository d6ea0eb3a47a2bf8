"""Scheduling's answers to other apps' signals, connected in `SchedulingConfig.ready`:
a merge of two patients moves the merged one's appointments, unless two of them
(one each) hold the same time."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.kernel.dates import format_day, format_time_of_day
from patients.exceptions import PatientMergeRefused
from patients.models import Patient
from patients.signals import patient_merge_planned, patients_merged

from .models import Appointment


@receiver(patient_merge_planned, dispatch_uid="scheduling.plan_patient_merge")
def plan_patient_merge(sender: Any, *, kept: Patient, merged: Patient, **kwargs: Any):
    refuse_overlapping_appointments(kept=kept, merged=merged)
    return [(_("appointments"), Appointment.objects.filter(patient=merged).count())]


@receiver(patients_merged, dispatch_uid="scheduling.move_appointments_of_merged_patient")
def move_appointments(sender: Any, *, kept: Patient, merged: Patient, **kwargs: Any):
    """The appointments (and so their history) become the kept patient's. The
    exclusion constraint on PostgreSQL refuses an overlap this check missed."""
    refuse_overlapping_appointments(kept=kept, merged=merged)
    moved = Appointment.objects.filter(patient=merged).update(patient=kept)
    return [(_("appointments"), moved)]


def refuse_overlapping_appointments(*, kept: Patient, merged: Patient) -> None:
    """Refuse the merge when an active appointment of one patient overlaps one of
    the other: once merged, one patient would be in two places at once."""
    clash = (
        Appointment.objects.active()
        .filter(patient=kept)
        .filter(
            Exists(
                Appointment.objects.active().filter(
                    patient=merged,
                    starts_at__lt=OuterRef("ends_at"),
                    ends_at__gt=OuterRef("starts_at"),
                )
            )
        )
        .select_related("doctor")
        .order_by("starts_at", "pk")
        .first()
    )
    if clash is not None:
        starts = timezone.localtime(clash.starts_at)
        raise PatientMergeRefused(
            _(
                "These patients cannot be merged: both have an appointment at "
                "%(time)s on %(day)s (%(doctor)s). Cancel or move one of them first."
            )
            % {
                "time": format_time_of_day(starts),
                "day": format_day(starts, "D d M Y"),
                "doctor": clash.doctor,
            }
        )
