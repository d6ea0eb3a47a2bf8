"""Who may write which clinical content: one predicate per rule, asked by the
services before they write and by the pages before they offer a form, so the two
never disagree."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _

from clinic.kernel.users import User
from sessions_app.models import Session, SessionStatus

from .emergency import EmergencyGrant
from .exceptions import EmptyNote, Forbidden, NotSigned, ReasonRequired, RecordsError, SessionClosed
from .models import ClinicalNote, MedicalRecord
from .selectors import can_read_clinical_content, holds_emergency_access, reads_as_of_right

# Held by the Managers role only (records migration 0003).
ADDENDUM_TO_ANY_NOTE = "records.add_addendum_to_any_note"
# Held by the Doctors and Managers roles (records migration 0002).
CHANGE_RECORD = "records.change_medicalrecord"


def allergy_names(record: MedicalRecord | None) -> list[str]:
    """The substances the patient is recorded as allergic to, as the doctor wrote
    them (empty when none are recorded, or no record exists). Uses the record's
    prefetched allergies when the page loaded them, so it asks at most one query."""
    if record is None or record.pk is None:
        return []
    return [allergy.substance for allergy in record.allergies.all()]


def record_edit_refusal(
    *,
    user: User | AnonymousUser,
    patient_id: int,
    emergency: EmergencyGrant | None = None,
) -> RecordsError | None:
    """Why `user` may not change the patient's medical record, or None when they
    may: those who may change records (the Doctors and Managers roles) and may read
    this chart, as of right (a manager, the patient's own doctor) or by an
    emergency access of theirs to it. Editing never reaches further than reading."""
    if not (
        user.is_authenticated
        and user.is_active
        and user.has_perm(CHANGE_RECORD)
        and can_read_clinical_content(user)
    ):
        return Forbidden(_("Only doctors and managers can change a medical record."))
    if reads_as_of_right(user=user, patient_id=patient_id):
        return None
    if holds_emergency_access(user=user, patient_id=patient_id, emergency=emergency):
        return None
    return ReasonRequired(
        _("This patient is not yours: say why you need their chart."), patient_id=patient_id
    )


def session_write_refusal(*, session: Session, user: User | AnonymousUser) -> RecordsError | None:
    """Why `user` may not write the session's note and prescriptions, or None when
    they may: only the session's doctor, until the session is completed (completion
    signs and locks them)."""
    if session.doctor.user_id is None or session.doctor.user_id != user.pk:
        return Forbidden(f"Only {session.doctor} can write this session's notes and prescriptions.")
    if session.status == SessionStatus.COMPLETED:
        return SessionClosed(
            "This session is completed and its records are signed; add an addendum instead."
        )
    return None


def can_write_session_records(*, session: Session, user: User | AnonymousUser) -> bool:
    return session_write_refusal(session=session, user=user) is None


def addendum_refusal(*, note: ClinicalNote, user: User | AnonymousUser) -> RecordsError | None:
    """Why `user` may not add an addendum to `note`, or None when they may.

    An addendum is written by the note's author (still holding the Doctors role's
    `records.add_addendum`) or by a manager (`records.add_addendum_to_any_note`),
    and only to a signed note: an unsigned one is simply edited. Another doctor who
    sees the patient later writes their own note in their own session, so each note
    and its addenda stay one clinician's account. Asks no query: `note` carries its
    author's id and signature, and permissions are cached on the user."""
    if not (user.is_authenticated and user.is_active):
        return Forbidden(_("Sign in to add an addendum."))
    is_author = note.author_id == user.pk and user.has_perm("records.add_addendum")
    if not (is_author or user.has_perm(ADDENDUM_TO_ANY_NOTE)):
        return Forbidden(
            _(
                "Only the note's author or a manager can add an addendum to it; "
                "write your own note in your own session instead."
            )
        )
    if not note.is_signed:
        return NotSigned(_("This note is not signed yet; edit it instead of adding an addendum."))
    return None


def can_add_addendum(*, note: ClinicalNote, user: User | AnonymousUser) -> bool:
    return addendum_refusal(note=note, user=user) is None


def signing_refusal(note: ClinicalNote | None) -> EmptyNote | None:
    """Why `note` may not be signed as it stands, or None: it needs an assessment
    or a plan (a note of findings alone says nothing of what was decided). Asked by
    the session page before it offers the confirmation, and by the signing itself."""
    if note is None or note.assessment.strip() or note.plan.strip():
        return None
    return EmptyNote(
        _("Write an assessment or a plan before signing: an empty note is never signed.")
    )
