"""The records' answers to other apps' signals, connected in `RecordsConfig.ready`."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.translation import gettext as _

from patients.models import Patient
from patients.signals import patient_merge_planned, patients_merged
from sessions_app.signals import session_completed

from . import emergency, merge
from .services import sign_session_records


@receiver(session_completed, dispatch_uid="records.sign_on_session_completed")
def sign_on_session_completed(sender, *, session, by=None, **kwargs) -> None:
    """A completed session's note and prescriptions are signed and locked in the
    completion's own transaction: if signing fails, the session stays open."""
    sign_session_records(session=session, by=by)


@receiver(user_logged_in, dispatch_uid="records.emergency_access_ends_with_the_sign_in")
def emergency_access_ends_with_the_sign_in(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    """An emergency access lasts for one sign-in. Signing out empties the session,
    but signing in again over a live session keeps its data (Django only changes
    its key), so every sign-in drops the grants: the doctor states their reasons
    again."""
    if request is not None and hasattr(request, "session"):
        emergency.forget_all(request.session)


@receiver(patient_merge_planned, dispatch_uid="records.plan_patient_merge")
def plan_patient_merge(sender: Any, *, kept: Patient, merged: Patient, **kwargs: Any):
    return [(_("medical records"), merge.plan_record_merge(kept=kept, merged=merged))]


@receiver(patients_merged, dispatch_uid="records.merge_medical_records")
def merge_medical_records(sender: Any, *, kept: Patient, merged: Patient, by: Any, **kwargs: Any):
    return [(_("medical records"), merge.merge_records(kept=kept, merged=merged, by=by))]
