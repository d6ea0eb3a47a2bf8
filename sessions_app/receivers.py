"""Sessions' answers to other apps' signals, connected in `SessionsAppConfig.ready`:
a merge of two patients moves the merged one's sessions (the notes and
prescriptions in them go with them)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django.utils.translation import gettext as _

from patients.models import Patient
from patients.signals import patient_merge_planned, patients_merged

from .models import Session


@receiver(patient_merge_planned, dispatch_uid="sessions_app.plan_patient_merge")
def plan_patient_merge(sender: Any, *, merged: Patient, **kwargs: Any):
    return [(_("sessions"), Session.objects.filter(patient=merged).count())]


@receiver(patients_merged, dispatch_uid="sessions_app.move_sessions_of_merged_patient")
def move_sessions(sender: Any, *, kept: Patient, merged: Patient, **kwargs: Any):
    """Two sessions in progress at once are refused by the one-in-progress index
    (the merge turns that into a refusal)."""
    return [(_("sessions"), Session.objects.filter(patient=merged).update(patient=kept))]
