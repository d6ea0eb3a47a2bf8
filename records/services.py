"""Writes of clinical content (DESIGN.md section 6). Each runs in one transaction,
refuses what the rules refuse with a `RecordsError` (changing nothing), and writes
the access log.

Who may write what:
- the medical record and its allergies: those holding `records.change_medicalrecord`
  (the Doctors and Managers roles) who may read the chart (`record_edit_refusal`);
  every change is kept in the record's history;
- a session's note and prescriptions: only that session's doctor, until the
  session is completed; completion signs and locks them;
- an addendum to a signed note: the note's author (who still holds the Doctors
  role's `records.add_addendum`) or a manager (`records.add_addendum_to_any_note`),
  as `records.rules.addendum_refusal` says; a colleague who sees the patient later
  writes their own note in their own session.

And who may read what is `records.selectors`'; `break_the_glass` is how a doctor
states why they open a chart that is not their patient's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.kernel.users import User
from patients.models import Patient
from sessions_app.models import Session, SessionStatus

from . import history
from .audit import log_access
from .emergency import EmergencyGrant, EmergencyReason
from .exceptions import (
    Forbidden,
    InvalidClinicalData,
    RecordLocked,
    SessionClosed,
)
from .models import (
    AccessAction,
    Addendum,
    Allergy,
    ClinicalNote,
    MedicalRecord,
    Prescription,
    PrescriptionItem,
    RecordChange,
    Severity,
    prescription_number,
)
from .rules import addendum_refusal, record_edit_refusal, session_write_refusal, signing_refusal
from .selectors import can_read_clinical_content

RECORD_FIELDS = frozenset(history.TRACKED_FIELDS)
ALLERGY_FIELDS = frozenset(Allergy.CONTENT_FIELDS)
NOTE_FIELDS = frozenset(ClinicalNote.CONTENT_FIELDS)
ITEM_FIELDS = frozenset(PrescriptionItem.CONTENT_FIELDS)
# The details of an emergency access's reason, so that with the reason's name it
# fits the access log's column.
EMERGENCY_DETAILS_MAX_LENGTH = 200


def get_or_create_medical_record(
    *, patient: Patient, by: User, ip: str | None = None
) -> MedicalRecord:
    """The patient's one medical record, created empty the first time. Creating it
    is a write: only those who may change records may, and it is logged."""
    _require_record_editor(by)
    with transaction.atomic():
        _lock_patient(patient)
        record, created = MedicalRecord.objects.get_or_create(
            patient=patient, defaults={"updated_by": by}
        )
        if created:
            log_access(user=by, patient=patient, obj=record, action=AccessAction.WRITE, ip=ip)
    return record


def update_medical_record(
    *,
    patient: Patient,
    by: User,
    ip: str | None = None,
    emergency: EmergencyGrant | None = None,
    allergies: Iterable[Mapping[str, Any]] | None = None,
    **fields: Any,
) -> MedicalRecord:
    """Change the patient's medical record (no known allergies, chronic conditions,
    current medications, blood type, notes) and, when `allergies` is given, make
    its allergies exactly those (each a substance, a severity and a reaction),
    creating the record if needed.

    Those who may read the chart may (`records.rules.record_edit_refusal`): a
    manager, the patient's own doctor, or a doctor holding an emergency access to
    it. "No known allergies" and a recorded allergy exclude each other. A save that
    changes something writes one entry to the record's history (who, when, each
    field's old and new value) and one to the access log; one that changes nothing
    writes neither."""
    _check_fields(fields, RECORD_FIELDS)
    refusal = record_edit_refusal(user=by, patient_id=patient.pk, emergency=emergency)
    if refusal is not None:
        raise refusal
    wanted = None if allergies is None else _wanted_allergies(allergies)
    with transaction.atomic():
        _lock_patient(patient)
        record, created = MedicalRecord.objects.select_for_update().get_or_create(patient=patient)
        before = history.snapshot(record)
        _assign(record, fields)
        _validate(record, exclude=["patient", "updated_by"])
        stored = list(record.allergies.all())
        plan = history.plan_allergies(
            stored, stored_as_wanted(stored) if wanted is None else wanted
        )
        if record.no_known_allergies and len(stored) - len(plan.removed) + len(plan.added):
            message = _(
                "Untick “No known allergies”, or remove the allergies: a patient with "
                "a recorded allergy has known allergies."
            )
            raise InvalidClinicalData(message, errors={"no_known_allergies": [message]})
        changes = history.field_changes(before, record) + history.allergy_changes(plan)
        if not changes and not created:
            return record
        record.updated_by = by
        record.save()
        _apply_allergies(record, plan, by=by)
        if changes:
            RecordChange.objects.create(record=record, changed_by=by, changes=changes)
        log_access(
            user=by,
            patient=patient,
            obj=record,
            action=AccessAction.WRITE,
            ip=ip,
            description="medical record: "
            + ", ".join(sorted({change["field"] for change in changes})),
        )
    return record


def stored_as_wanted(stored: Iterable[Allergy]) -> list[history.WantedAllergy]:
    return [
        history.WantedAllergy(substance=a.substance, severity=a.severity, reaction=a.reaction)
        for a in stored
    ]


def _wanted_allergies(items: Iterable[Mapping[str, Any]]) -> list[history.WantedAllergy]:
    """The allergies as given, validated as rows would be, each substance once."""
    wanted: list[history.WantedAllergy] = []
    errors: dict[str, list[str]] = {}
    for number, item in enumerate(items, start=1):
        _check_fields(item, ALLERGY_FIELDS)
        row = Allergy(severity=Severity.UNKNOWN)
        _assign(row, item)
        row.substance = " ".join(row.substance.split())
        try:
            row.full_clean(exclude=["record", "recorded_by"], validate_constraints=False)
        except ValidationError as error:
            errors[_("Allergy %(number)d") % {"number": number}] = error.messages
            continue
        entry = history.WantedAllergy(
            substance=row.substance, severity=row.severity, reaction=row.reaction
        )
        if any(other.key == entry.key for other in wanted):
            errors[_("Allergy %(number)d") % {"number": number}] = [
                _("%(substance)s is listed twice.") % {"substance": row.substance}
            ]
            continue
        wanted.append(entry)
    if errors:
        message = " ".join(f"{item}: {' '.join(messages)}" for item, messages in errors.items())
        raise InvalidClinicalData(message, errors=errors)
    return wanted


def _apply_allergies(record: MedicalRecord, plan: history.AllergyPlan, *, by: User) -> None:
    if plan.removed:
        Allergy.objects.filter(pk__in=[allergy.pk for allergy in plan.removed]).delete()
    for current, item in plan.changed:
        current.substance, current.severity, current.reaction = (
            item.substance,
            item.severity,
            item.reaction,
        )
        current.save(update_fields=["substance", "severity", "reaction"])
    Allergy.objects.bulk_create(
        Allergy(
            record=record,
            substance=item.substance,
            severity=item.severity,
            reaction=item.reaction,
            recorded_by=by,
        )
        for item in plan.added
    )


def write_note(*, session: Session, by: User, ip: str | None = None, **fields: Any) -> ClinicalNote:
    """Write (create or change) the session's clinical note.

    Only the session's doctor may, only while the session is not completed, and
    never once the note is signed: corrections are then addenda. Fields not given
    keep their values."""
    _check_fields(fields, NOTE_FIELDS)
    with transaction.atomic():
        current = _open_session_of(session, by)
        note = ClinicalNote.objects.select_for_update().filter(session=current).first()
        if note is None:
            note = ClinicalNote(session=current, author=by)
        elif note.is_signed:
            raise RecordLocked(note.lock_message())
        _assign(note, fields)
        note.updated_at = timezone.now()
        _validate(note, exclude=["session", "author"])
        note.save()
        log_access(user=by, patient=current.patient, obj=note, action=AccessAction.WRITE, ip=ip)
    return note


def add_prescription(
    *,
    session: Session,
    by: User,
    items: Iterable[Mapping[str, Any]],
    ip: str | None = None,
) -> Prescription:
    """Write a new prescription of one or more items in the session. Same rules as
    the note: the session's doctor, while the session is open."""
    with transaction.atomic():
        current = _open_session_of(session, by)
        prescription = Prescription.objects.create(session=current, created_by=by)
        _save_items(prescription, items)
        log_access(
            user=by, patient=current.patient, obj=prescription, action=AccessAction.WRITE, ip=ip
        )
    return prescription


def replace_prescription_items(
    *,
    prescription: Prescription,
    by: User,
    items: Iterable[Mapping[str, Any]],
    ip: str | None = None,
) -> Prescription:
    """Replace every item of an unsigned prescription (how a page's formset saves
    an edit). Same rules as writing it; a signed prescription never changes."""
    with transaction.atomic():
        current = _open_session_of(prescription.session, by)
        locked = Prescription.objects.select_for_update().get(pk=prescription.pk)
        if locked.is_signed:
            raise RecordLocked(locked.lock_message())
        PrescriptionItem.objects.filter(prescription=locked).delete()
        _save_items(locked, items)
        locked.updated_at = timezone.now()
        locked.save(update_fields=["updated_at"])
        log_access(user=by, patient=current.patient, obj=locked, action=AccessAction.WRITE, ip=ip)
    return locked


def sign_session_records(*, session: Session, by: User | None) -> int:
    """Sign and lock the completed session's note and prescriptions, as `by` (the
    user who completed the session, else the session's doctor) at this moment.

    A note is never signed empty: one without an assessment or a plan is refused
    (`EmptyNote`), and since this runs from the `session_completed` receiver,
    inside the completion's transaction, the session then stays open, whichever
    path completed it (page, API, admin). A session with no note at all (completed
    through the API, which writes no clinical content) signs nothing. Each
    prescription gets its number now (`prescription_number`).

    Idempotent: what is signed already keeps its first signature. Returns how many
    notes and prescriptions were signed now."""
    if session.status != SessionStatus.COMPLETED:
        raise SessionClosed("A session's records are signed when the session is completed.")
    signer = by if by is not None else session.doctor.user
    signed_at = timezone.now()
    with transaction.atomic():
        notes = list(
            ClinicalNote.objects.select_for_update().filter(session=session, signed_at__isnull=True)
        )
        for note in notes:
            refusal = signing_refusal(note)
            if refusal is not None:
                raise refusal
        prescriptions = list(
            Prescription.objects.select_for_update().filter(session=session, signed_at__isnull=True)
        )
        # UPDATEs, not save(): the rows become locked by this very change.
        ClinicalNote.objects.filter(pk__in=[note.pk for note in notes]).update(
            signed_at=signed_at, signed_by=signer
        )
        for prescription in prescriptions:
            Prescription.objects.filter(pk=prescription.pk).update(
                signed_at=signed_at,
                signed_by=signer,
                number=prescription_number(prescription, signed_at),
            )
        signed: list[ClinicalNote | Prescription] = [*notes, *prescriptions]
        for row in signed:
            log_access(user=signer, patient=session.patient, obj=row, action=AccessAction.SIGN)
    return len(signed)


def add_addendum(*, note: ClinicalNote, by: User, text: str, ip: str | None = None) -> Addendum:
    """Add a correction or late entry to a signed note; the note itself never
    changes. Only the note's author or a manager may (see the module's docstring),
    and the text is required."""
    text = text.strip()
    if not text:
        raise InvalidClinicalData(
            _("Write the addendum's text."), errors={"text": [_("Required.")]}
        )
    with transaction.atomic():
        # The stored row decides, locked: it may have been signed since `note` was read.
        current = (
            ClinicalNote.objects.select_for_update(of=("self",))
            .select_related("session__patient")
            .get(pk=note.pk)
        )
        refusal = addendum_refusal(note=current, user=by)
        if refusal is not None:
            raise refusal
        addendum = Addendum.objects.create(note=current, author=by, text=text)
        log_access(
            user=by,
            patient=current.session.patient,
            obj=addendum,
            action=AccessAction.ADDENDUM,
            ip=ip,
        )
    return addendum


def break_the_glass(
    *,
    patient: Patient,
    by: User,
    reason: str,
    details: str = "",
    ip: str | None = None,
) -> EmergencyGrant:
    """Record that `by` opens the chart of a patient who is not theirs, and why:
    one of the common reasons (`EmergencyReason`), with details, which "Other"
    requires. Only someone who may read clinical content may; the access log gets
    an emergency access row with the reason and the address it came from, which the
    manager reviews. Returns the grant the pages keep for the rest of the sign-in
    (`records.emergency`)."""
    if not can_read_clinical_content(by):
        raise Forbidden(_("Only doctors and managers can read clinical records."))
    details = " ".join(details.split())
    if reason not in EmergencyReason.values:
        raise InvalidClinicalData(
            _("Choose why you need this chart."), errors={"reason": [_("Choose a reason.")]}
        )
    if reason == EmergencyReason.OTHER and not details:
        raise InvalidClinicalData(
            _("Say why you need this chart."), errors={"details": [_("Required for “Other”.")]}
        )
    if len(details) > EMERGENCY_DETAILS_MAX_LENGTH:
        message = _("Keep the details under %(limit)d characters.") % {
            "limit": EMERGENCY_DETAILS_MAX_LENGTH
        }
        raise InvalidClinicalData(message, errors={"details": [message]})
    label = str(EmergencyReason(reason).label)
    stated = label
    if details:
        stated = _("%(reason)s: %(details)s") % {"reason": label, "details": details}
    with transaction.atomic():
        entry = log_access(
            user=by,
            patient=patient,
            obj=patient,
            action=AccessAction.EMERGENCY,
            ip=ip,
            description="chart",
            reason=stated,
        )
    return EmergencyGrant(user_id=by.pk, patient_id=patient.pk, reason=stated, at=entry.at)


def _open_session_of(session: Session, by: User) -> Session:
    """The session's row, locked until the transaction ends, if `by` is its doctor
    and it is not completed. Completing takes the same lock, so a note cannot slip
    in after the signing."""
    current = (
        Session.objects.select_for_update(of=("self",))
        .select_related("doctor", "patient")
        .get(pk=session.pk)
    )
    refusal = session_write_refusal(session=current, user=by)
    if refusal is not None:
        raise refusal
    return current


def _save_items(prescription: Prescription, items: Iterable[Mapping[str, Any]]) -> None:
    rows = []
    errors: dict[str, list[str]] = {}
    for number, item in enumerate(items, start=1):
        _check_fields(item, ITEM_FIELDS)
        row = PrescriptionItem(prescription=prescription)
        _assign(row, item)
        try:
            row.full_clean(exclude=["prescription"])
        except ValidationError as error:
            errors[f"Item {number}"] = error.messages
        rows.append(row)
    if not rows:
        raise InvalidClinicalData("A prescription needs at least one medication.")
    if errors:
        message = " ".join(f"{item}: {' '.join(messages)}" for item, messages in errors.items())
        raise InvalidClinicalData(message, errors=errors)
    PrescriptionItem.objects.bulk_create(rows)


def _require_record_editor(by: User) -> None:
    if not by.has_perm("records.change_medicalrecord"):
        raise Forbidden(_("Only doctors and managers can change a medical record."))


def _lock_patient(patient: Patient) -> None:
    """Two first writes of one patient's record take turns instead of racing to
    create it. A registration merged into another has no record of its own (a merge
    locks both patients, so this sees one that finished): refused."""
    merged_into = (
        Patient.objects.select_for_update()
        .filter(pk=patient.pk)
        .values_list("merged_into_id", flat=True)
        .first()
    )
    if merged_into is not None:
        raise InvalidClinicalData(merged_away_message(merged_into))


def merged_away_message(kept_id: int) -> str:
    return _("This registration was merged into patient #%(id)s: write to that chart.") % {
        "id": kept_id
    }


def _check_fields(fields: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"Unknown fields: {', '.join(sorted(unknown))}")


def _assign(instance: models.Model, fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        setattr(instance, name, value.strip() if isinstance(value, str) else value)


def _validate(instance: models.Model, *, exclude: list[str]) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as error:
        raise InvalidClinicalData(" ".join(error.messages), errors=error.message_dict) from error
