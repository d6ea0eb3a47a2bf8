"""Notifications' answers to other apps' signals besides the rules (rules.py): a
merge of two patients moves the merged one's messages, sent and waiting (a waiting
text then goes to the kept patient's phone, with their consent)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django.utils.translation import gettext as _

from patients.models import Patient
from patients.signals import patient_merge_planned, patients_merged

from .models import Notification


@receiver(patient_merge_planned, dispatch_uid="notifications.plan_patient_merge")
def plan_patient_merge(sender: Any, *, merged: Patient, **kwargs: Any):
    return [(_("messages"), Notification.objects.filter(patient=merged).count())]


@receiver(patients_merged, dispatch_uid="notifications.move_messages_of_merged_patient")
def move_messages(sender: Any, *, kept: Patient, merged: Patient, **kwargs: Any):
    return [(_("messages"), Notification.objects.filter(patient=merged).update(patient=kept))]
