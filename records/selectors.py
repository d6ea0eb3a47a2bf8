"""Reads of clinical content. Only doctors and managers may read it (those holding
`records.view_clinicalnote`); every read is written to the access log. Each runs a
fixed number of queries whatever the patient's history."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, QuerySet

from patients.models import Patient
from sessions_app.models import Session

from .audit import log_access
from .exceptions import Forbidden
from .models import AccessAction, Addendum, ClinicalNote, MedicalRecord, Prescription

READ_PERMISSION = "records.view_clinicalnote"


@dataclass(frozen=True)
class Chart:
    """A patient's chart: the medical record (None until first written) and every
    session, newest first, each with its note, addenda and prescriptions."""

    patient: Patient
    record: MedicalRecord | None
    sessions: list[Session]


@dataclass(frozen=True)
class SessionRecords:
    session: Session
    note: ClinicalNote | None
    prescriptions: list[Prescription]


def can_read_clinical_content(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Doctors and managers; never reception. For pages deciding what to show;
    the selectors check it themselves."""
    return bool(user.is_authenticated and user.is_active and user.has_perm(READ_PERMISSION))


def patient_chart(
    *, patient: Patient, user: AbstractBaseUser | AnonymousUser, ip: str | None = None
) -> Chart:
    """The patient's whole chart, for a doctor or a manager; logged as one read."""
    _require_reader(user)
    record = MedicalRecord.objects.filter(patient=patient).select_related("updated_by").first()
    sessions = list(
        _with_clinical_content(Session.objects.filter(patient=patient)).order_by(
            "-created_at", "-pk"
        )
    )
    log_access(
        user=user,
        patient=patient,
        obj=record if record is not None else patient,
        action=AccessAction.READ,
        ip=ip,
        description="chart",
    )
    return Chart(patient=patient, record=record, sessions=sessions)


def session_clinical_content(
    *, session: Session, user: AbstractBaseUser | AnonymousUser, ip: str | None = None
) -> SessionRecords:
    """One session's note (with addenda) and prescriptions (with items), for a
    doctor or a manager; logged as one read."""
    _require_reader(user)
    loaded = _with_clinical_content(Session.objects.filter(pk=session.pk)).get()
    log_access(
        user=user,
        patient=loaded.patient,
        obj=loaded,
        action=AccessAction.READ,
        ip=ip,
        description="session records",
    )
    return SessionRecords(
        session=loaded,
        note=getattr(loaded, "clinical_note", None),
        prescriptions=list(loaded.prescriptions.all()),
    )


@dataclass(frozen=True)
class SessionPage:
    """What the session page shows: the session's clinical content and the
    patient's medical record, for the allergies in the header."""

    records: SessionRecords
    medical_record: MedicalRecord | None

    @property
    def session(self) -> Session:
        return self.records.session


def session_page(
    *, session: Session, user: AbstractBaseUser | AnonymousUser, ip: str | None
) -> SessionPage:
    """The session page's content for a doctor or a manager; the read is logged."""
    records = session_clinical_content(session=session, user=user, ip=ip)
    record = MedicalRecord.objects.filter(patient_id=records.session.patient_id).first()
    return SessionPage(records=records, medical_record=record)


def _with_clinical_content(sessions: QuerySet[Session]) -> QuerySet[Session]:
    return sessions.select_related(
        "patient",
        "doctor",
        "appointment__service",
        "clinical_note__author",
        "clinical_note__signed_by",
    ).prefetch_related(
        Prefetch("clinical_note__addenda", queryset=Addendum.objects.select_related("author")),
        Prefetch(
            "prescriptions",
            queryset=Prescription.objects.select_related("created_by", "signed_by"),
        ),
        "prescriptions__items",
    )


def _require_reader(user: AbstractBaseUser | AnonymousUser) -> None:
    if not can_read_clinical_content(user):
        raise Forbidden("Only doctors and managers can read clinical records.")
