from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.kernel.users import User

from .exceptions import PatientMergeRefused
from .models import Patient, PatientMerge
from .signals import patient_merge_planned, patients_merged

Moves = list[tuple[str, int]]


@transaction.atomic
def save_patient(*, patient: Patient, sms_opt_out: bool) -> Patient:
    """Register a new patient or save changes to one.

    The patient is validated in full (phone in E.164 when given, national ID unique
    when given, date of birth from 1900 to today) before anything is written, and
    the SMS opt-out keeps the time the patient first withdrew consent. Whether the
    patient is already registered is the caller's question (selectors.
    likely_duplicates): the desk and the API ask it before calling this.
    """
    patient.set_sms_opt_out(sms_opt_out)
    patient.full_clean()
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError as error:
        # Two clerks registering the same national ID at once: both pass
        # full_clean, the unique index stops the second.
        if not patient.national_id:
            raise
        raise ValidationError(
            {"national_id": ["Another patient already has this national ID."]}
        ) from error
    return patient


def mark_reviewed(*, patient: Patient) -> Patient:
    """Reception has looked at a patient who registered on the booking site (and
    merged them into an existing registration if they had one): the "to review"
    flag is cleared. Clearing it twice changes nothing."""
    Patient.objects.filter(pk=patient.pk).update(registered_online=False, updated_at=timezone.now())
    patient.registered_online = False
    return patient


def plan_merge(*, kept: Patient, merged: Patient) -> Moves:
    """What merging `merged` into `kept` would move, kind by kind, as the apps that
    own the rows say; raises PatientMergeRefused when it cannot be done."""
    _check_pair(kept, merged)
    return _answers(patient_merge_planned.send(sender=Patient, kept=kept, merged=merged))


def merge_patients(*, kept: Patient, merged: Patient, by: User) -> PatientMerge:
    """Merge a patient registered twice: `merged`'s appointments, sessions,
    invoices, medical record and messages move to `kept`, in one transaction.

    `merged` stays, inactive, pointing at `kept` (the access log names it and
    nobody may change that log); it is found by no search. Refused, with nothing
    changed, when the two are the same, one is already merged, or their
    appointments overlap (the scheduling overlap constraint is the last guard).
    The merge is written to PatientMerge with who, when and what moved.
    """
    try:
        with transaction.atomic():
            # Both rows locked in id order, so two managers merging crosswise wait.
            locked = {
                patient.pk: patient
                for patient in Patient.objects.select_for_update()
                .filter(pk__in=[kept.pk, merged.pk])
                .order_by("pk")
            }
            kept, merged = locked.get(kept.pk, kept), locked.get(merged.pk, merged)
            _check_pair(kept, merged)
            merged.merged_into = kept
            merged.save(update_fields=["merged_into", "updated_at"])
            moved = _answers(patients_merged.send(sender=Patient, kept=kept, merged=merged, by=by))
            return PatientMerge.objects.create(
                kept=kept,
                merged=merged,
                merged_by=by,
                merged_at=timezone.now(),
                moved={kind: count for kind, count in moved},
            )
    except IntegrityError as error:
        # A receiver's move ran into a database guard (two appointments at once,
        # two sessions in progress) that its own check did not see coming.
        raise PatientMergeRefused(
            _("These patients cannot be merged: %(reason)s")
            % {"reason": _("they have appointments or sessions at the same time.")}
        ) from error


def _check_pair(kept: Patient, merged: Patient) -> None:
    if kept.pk == merged.pk:
        raise PatientMergeRefused(_("Choose two different patients to merge."))
    for patient in (kept, merged):
        if patient.is_merged:
            raise PatientMergeRefused(
                _("%(name)s (#%(id)s) has already been merged into another patient.")
                % {"name": patient.full_name, "id": patient.pk}
            )


def _answers(responses: list[tuple[Any, Any]]) -> Moves:
    """The receivers' answers, one list: (kind, count) of every app."""
    return [move for _receiver, moves in responses for move in moves or []]
