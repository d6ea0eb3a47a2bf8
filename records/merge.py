"""The medical record when two patients are merged (patients.services.merge_patients).

A patient has one record. When only the merged-away patient has one, it moves. When
both have one, the kept record takes what the other says and it does not (each text
joined below its own, the blood type if the kept one has none), and the other stays
with the merged-away patient, read-only history. Two different known blood types are
a question for a doctor, not for the merge: it is refused. Every read and write is
in the access log.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from clinic.kernel.users import User
from patients.exceptions import PatientMergeRefused
from patients.models import Patient

from .audit import log_access
from .models import AccessAction, Allergy, BloodType, MedicalRecord

TEXT_FIELDS = ("chronic_conditions", "current_medications", "notes")


def plan_record_merge(*, kept: Patient, merged: Patient) -> int:
    """How many records would change hands (0 or 1); refuses conflicting records."""
    kept_record, merged_record = _records(kept, merged)
    if merged_record is None:
        return 0
    _refuse_conflict(kept_record, merged_record)
    return 1


def merge_records(*, kept: Patient, merged: Patient, by: User) -> int:
    kept_record, merged_record = _records(kept, merged, lock=True)
    if merged_record is None:
        return 0
    _refuse_conflict(kept_record, merged_record)
    note = _("Merged from patient #%(id)s") % {"id": merged.pk}
    if kept_record is None:
        MedicalRecord.objects.filter(pk=merged_record.pk).update(patient=kept, updated_by=by)
        log_access(
            user=by, patient=kept, obj=merged_record, action=AccessAction.WRITE, description=note
        )
        return 1
    log_access(
        user=by,
        patient=merged,
        obj=merged_record,
        action=AccessAction.READ,
        description=_("Merged into patient #%(id)s") % {"id": kept.pk},
    )
    for field in TEXT_FIELDS:
        setattr(
            kept_record, field, _joined(getattr(kept_record, field), getattr(merged_record, field))
        )
    if not kept_record.blood_type:
        kept_record.blood_type = merged_record.blood_type
    _merge_allergies(kept_record, merged_record)
    kept_record.updated_by = by
    kept_record.save()
    log_access(user=by, patient=kept, obj=kept_record, action=AccessAction.WRITE, description=note)
    return 1


def _records(
    kept: Patient, merged: Patient, *, lock: bool = False
) -> tuple[MedicalRecord | None, MedicalRecord | None]:
    records = MedicalRecord.objects.filter(patient__in=[kept, merged])
    if lock:
        records = records.select_for_update()
    by_patient = {record.patient_id: record for record in records}
    return by_patient.get(kept.pk), by_patient.get(merged.pk)


def _refuse_conflict(kept: MedicalRecord | None, merged: MedicalRecord) -> None:
    if (
        kept is not None
        and kept.blood_type != BloodType.UNKNOWN
        and merged.blood_type != BloodType.UNKNOWN
        and kept.blood_type != merged.blood_type
    ):
        raise PatientMergeRefused(
            _(
                "These patients cannot be merged: their medical records give different "
                "blood types (%(kept)s and %(merged)s). A doctor must correct one first."
            )
            % {"kept": kept.get_blood_type_display(), "merged": merged.get_blood_type_display()}
        )


def _merge_allergies(kept: MedicalRecord, merged: MedicalRecord) -> None:
    """The merged record's allergies move to the kept one, but for substances it
    records already (the kept one's severity and reaction stand). An allergy known
    on either side means "no known allergies" no longer holds; the merged record's
    "no known allergies" counts only where the kept one recorded nothing at all."""
    known = {
        substance.casefold() for substance in kept.allergies.values_list("substance", flat=True)
    }
    moving = [
        allergy.pk
        for allergy in merged.allergies.all()
        if allergy.substance.casefold() not in known
    ]
    Allergy.objects.filter(pk__in=moving).update(record=kept)
    if known or moving:
        kept.no_known_allergies = False
    elif merged.no_known_allergies:
        kept.no_known_allergies = True


def _joined(kept: str, merged: str) -> str:
    """The kept text, then the merged one's unless it says nothing new."""
    if not merged.strip() or merged.strip() in kept:
        return kept
    if not kept.strip():
        return merged
    return f"{kept.rstrip()}\n{merged.strip()}"
