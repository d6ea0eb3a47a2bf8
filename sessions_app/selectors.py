from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet

from records.models import MedicalRecord
from records.selectors import SessionRecords, session_clinical_content

from .models import Session


def sessions_visible_to(user: AbstractBaseUser) -> QuerySet[Session]:
    """A doctor opens their own sessions; a manager (who reads clinical content but
    runs no session) any; everyone else none. Pages look sessions up here, so
    guessing an id finds nothing."""
    if user.has_perm("records.view_clinicalnote") and not user.has_perm(
        "sessions_app.change_session"
    ):
        return Session.objects.all()
    if user.has_perm("sessions_app.change_session"):
        return Session.objects.filter(doctor__user=user)
    return Session.objects.none()


@dataclass(frozen=True)
class SessionPage:
    records: SessionRecords
    medical_record: MedicalRecord | None

    @property
    def session(self) -> Session:
        return self.records.session


def session_page(*, session: Session, user: AbstractBaseUser, ip: str | None) -> SessionPage:
    """What the session page shows: the session's clinical content (a logged read)
    and the patient's medical record, for the allergies in the header."""
    records = session_clinical_content(session=session, user=user, ip=ip)
    record = MedicalRecord.objects.filter(patient_id=records.session.patient_id).first()
    return SessionPage(records=records, medical_record=record)
