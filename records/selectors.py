"""Reads of clinical content. Only doctors and managers may read it (those holding
`records.view_clinicalnote`); every read is written to the access log. Each runs a
fixed number of queries whatever the patient's history.

Whose content (DESIGN.md section 6): a manager (`records.read_any_chart`) reads any
patient's; a doctor reads their own patients' (`is_own_patient`) directly, and any
other patient's only with an emergency access, a stated reason logged by
`records.services.break_the_glass` ("break the glass"). Without one the read is
refused with `ReasonRequired`, which the chart page answers by asking for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.kernel.dates import clinic_zone
from clinic.kernel.users import User
from patients.models import Patient
from scheduling.models import Appointment
from scheduling.models import Status as AppointmentStatus
from sessions_app.models import Session

from .audit import log_access
from .emergency import EmergencyGrant
from .exceptions import Forbidden, ReasonRequired
from .models import (
    AccessAction,
    Addendum,
    Allergy,
    ClinicalNote,
    MedicalRecord,
    Prescription,
    RecordChange,
)

READ_PERMISSION = "records.view_clinicalnote"
# Held by the Managers role only (records migration 0004).
ANY_CHART_PERMISSION = "records.read_any_chart"

# A visit that took place: the doctor has treated the patient, whenever it was.
ATTENDED = (AppointmentStatus.ARRIVED, AppointmentStatus.IN_SESSION, AppointmentStatus.COMPLETED)
# A visit still to come: the doctor may prepare for it.
EXPECTED = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)


@dataclass(frozen=True)
class Chart:
    """A patient's chart: the medical record (None until first written) and every
    session, newest first, each with its note, addenda and prescriptions."""

    patient: Patient
    record: MedicalRecord | None
    sessions: list[Session]
    #: The reason stated to read it, when the patient is not the reader's own.
    emergency: EmergencyGrant | None = None
    #: Every change to the medical record, newest first.
    history: list[RecordChange] = field(default_factory=list)


@dataclass(frozen=True)
class SessionRecords:
    session: Session
    note: ClinicalNote | None
    prescriptions: list[Prescription]


def can_read_clinical_content(user: User | AnonymousUser) -> bool:
    """Doctors and managers; never reception. For pages deciding what to show;
    the selectors check it themselves."""
    return bool(user.is_authenticated and user.is_active and user.has_perm(READ_PERMISSION))


def is_own_patient(*, user: User | AnonymousUser, patient_id: int) -> bool:
    """Whether the patient is one of this doctor's (`user`'s) own, in one query.

    Theirs: an appointment with them that the patient came to (arrived, in session
    or completed), however long ago, or one booked or confirmed from the start of
    today (a late patient is still expected) to RECORDS_OWN_PATIENT_WEEKS_AHEAD
    weeks from now, to prepare for it. A cancelled appointment or a no-show makes
    no one the patient's doctor: the patient never came, and whoever follows it up
    states why. Nor does a visit booked further ahead, or an old booking nobody
    marked: those never brought the two together either."""
    if not user.is_authenticated:
        return False
    now = timezone.now()
    today_starts = datetime.combine(now.astimezone(clinic_zone()).date(), time(), clinic_zone())
    horizon = now + timedelta(weeks=settings.RECORDS_OWN_PATIENT_WEEKS_AHEAD)
    return (
        Appointment.objects.filter(doctor__user_id=user.pk, patient_id=patient_id)
        .filter(
            Q(status__in=ATTENDED)
            | Q(status__in=EXPECTED, starts_at__gte=today_starts, starts_at__lte=horizon)
        )
        .exists()
    )


def reads_as_of_right(*, user: User | AnonymousUser, patient_id: int) -> bool:
    """Whether `user` reads the patient's clinical content without stating a reason:
    a manager always, a doctor for their own patients. Whether they may read clinical
    content at all is `can_read_clinical_content`."""
    return user.has_perm(ANY_CHART_PERMISSION) or is_own_patient(user=user, patient_id=patient_id)


def holds_emergency_access(
    *, user: User | AnonymousUser, patient_id: int, emergency: EmergencyGrant | None
) -> bool:
    """Whether `emergency` is this user's emergency access to this patient."""
    return emergency is not None and (emergency.user_id, emergency.patient_id) == (
        user.pk,
        patient_id,
    )


def patient_chart(
    *,
    patient: Patient,
    user: User | AnonymousUser,
    ip: str | None = None,
    emergency: EmergencyGrant | None = None,
) -> Chart:
    """The patient's whole chart, for a manager, the patient's own doctor, or a
    doctor holding an emergency access to it (`emergency`, else `ReasonRequired`);
    logged as one read, marked as an emergency access when it is one."""
    _require_reader(user)
    emergency = _require_access(user=user, patient_id=patient.pk, emergency=emergency)
    record = _records_with_allergies().filter(patient=patient).select_related("updated_by").first()
    history = (
        list(RecordChange.objects.filter(record=record).select_related("changed_by"))
        if record is not None
        else []
    )
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
        description="chart" if emergency is None else "chart (emergency access)",
    )
    return Chart(
        patient=patient, record=record, sessions=sessions, emergency=emergency, history=history
    )


def medical_record(
    *,
    patient: Patient,
    user: User | AnonymousUser,
    ip: str | None = None,
    emergency: EmergencyGrant | None = None,
) -> MedicalRecord | None:
    """The patient's medical record with its allergies (None until first written),
    for those who may read the chart (as `patient_chart`); logged as one read."""
    _require_reader(user)
    emergency = _require_access(user=user, patient_id=patient.pk, emergency=emergency)
    record = _records_with_allergies().filter(patient=patient).first()
    log_access(
        user=user,
        patient=patient,
        obj=record if record is not None else patient,
        action=AccessAction.READ,
        ip=ip,
        description="medical record" if emergency is None else "medical record (emergency access)",
    )
    return record


def session_clinical_content(
    *,
    session: Session,
    user: User | AnonymousUser,
    ip: str | None = None,
    emergency: EmergencyGrant | None = None,
) -> SessionRecords:
    """One session's note (with addenda) and prescriptions (with items), for a
    manager, the patient's own doctor or a doctor holding an emergency access to the
    patient (as `patient_chart`); logged as one read."""
    _require_reader(user)
    emergency = _require_access(user=user, patient_id=session.patient_id, emergency=emergency)
    loaded = _with_clinical_content(Session.objects.filter(pk=session.pk)).get()
    log_access(
        user=user,
        patient=loaded.patient,
        obj=loaded,
        action=AccessAction.READ,
        ip=ip,
        description="session records" if emergency is None else "session (emergency access)",
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
    *,
    session: Session,
    user: User | AnonymousUser,
    ip: str | None,
    emergency: EmergencyGrant | None = None,
) -> SessionPage:
    """The session page's content, for those `session_clinical_content` lets read
    it; the read is logged."""
    records = session_clinical_content(session=session, user=user, ip=ip, emergency=emergency)
    record = _records_with_allergies().filter(patient_id=records.session.patient_id).first()
    return SessionPage(records=records, medical_record=record)


def _records_with_allergies() -> QuerySet[MedicalRecord]:
    return MedicalRecord.objects.prefetch_related(
        Prefetch("allergies", queryset=Allergy.objects.select_related("recorded_by"))
    )


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


def _require_reader(user: User | AnonymousUser) -> None:
    if not can_read_clinical_content(user):
        raise Forbidden(_("Only doctors and managers can read clinical records."))


def _require_access(
    *, user: User | AnonymousUser, patient_id: int, emergency: EmergencyGrant | None
) -> EmergencyGrant | None:
    """None when `user` reads the patient's content as of right; the emergency
    access when they read it by one (theirs, for this patient); else ReasonRequired."""
    if reads_as_of_right(user=user, patient_id=patient_id):
        return None
    if holds_emergency_access(user=user, patient_id=patient_id, emergency=emergency):
        return emergency
    raise ReasonRequired(
        _("This patient is not yours: say why you need their chart."), patient_id=patient_id
    )
