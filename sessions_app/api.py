"""The clinical sessions of the JSON API (mounted by clinic/api.py): open, start and
complete a session through the same services as the doctor's pages, with the same
permissions (only the session's doctor runs it).

A session here is its times and status only, never its clinical content: that stays
on the pages, where every read is written to the access log."""

# No `from __future__ import annotations`: ninja resolves these types at runtime.
from ninja import Field, Router, Schema
from ninja.responses import Status as Reply

from clinic.kernel.api import ERRORS, STATE_ERRORS, acting_user, require
from clinic.kernel.api_types import ClinicTime, Id, get_or_404, path_id, refuse_fields
from scheduling.models import Service
from scheduling.selectors import appointments_visible_to

from . import services
from .models import Session, SessionStatus
from .selectors import sessions_visible_to

router = Router(tags=["sessions"])


class SessionOut(Schema):
    id: int
    appointment: int
    doctor: int
    patient: int
    status: SessionStatus
    created_at: ClinicTime
    started_at: ClinicTime | None
    completed_at: ClinicTime | None

    @staticmethod
    def resolve_appointment(session: Session) -> int:
        return session.appointment_id

    @staticmethod
    def resolve_doctor(session: Session) -> int:
        return session.doctor_id

    @staticmethod
    def resolve_patient(session: Session) -> int:
        return session.patient_id


class SessionIn(Schema):
    appointment: Id = Field(..., description="An appointment of yours whose patient has arrived.")


class PerformedIn(Schema):
    service: Id
    quantity: int = Field(1, ge=1, le=99)


class CompleteIn(Schema):
    performed: list[PerformedIn] | None = Field(
        None,
        max_length=20,
        description="The services performed; the appointment's service once when absent.",
    )


SESSION = {200: SessionOut, **STATE_ERRORS}


def _runnable(request, session_id: int) -> Session:
    """A session the acting doctor may run: their own, else 404 (as on the pages)."""
    require(request, "sessions_app.change_session")
    return get_or_404(sessions_visible_to(acting_user(request)), session_id)


@router.post("/sessions", response={201: SessionOut, **STATE_ERRORS}, summary="Open a session")
def open_session(request, payload: SessionIn):
    """Open the session of one of your appointments whose patient has arrived; one
    per appointment (409 `already_exists`)."""
    require(request, "sessions_app.add_session")
    user = acting_user(request)
    # As the doctor's queue: only their own appointments.
    appointment = (
        appointments_visible_to(user).filter(doctor__user=user, pk=payload.appointment).first()
    )
    if appointment is None:
        raise refuse_fields(appointment="No such appointment of yours.")
    return Reply(201, services.create_session(appointment=appointment, by=user))


@router.post("/sessions/{session_id}/start", summary="Start a session", response=SESSION)
def start_session(request, session_id: int = path_id("The session's id.")):
    """Start your session on the appointment's day, from a little before its time,
    while you have no other session in progress (409 `busy`)."""
    session = _runnable(request, session_id)
    return services.start_session(session=session, by=acting_user(request))


@router.post("/sessions/{session_id}/complete", summary="Complete a session", response=SESSION)
def complete_session(
    request, payload: CompleteIn | None = None, session_id: int = path_id("The session's id.")
):
    """Complete your session in progress with the services performed; its invoice
    opens."""
    session = _runnable(request, session_id)
    performed = None
    if payload is not None and payload.performed:
        wanted = {line.service for line in payload.performed}
        offered = Service.objects.active().in_bulk(wanted)
        if wanted - set(offered):
            raise refuse_fields(performed="No such service (or no longer offered).")
        performed = [(offered[line.service], line.quantity) for line in payload.performed]
    return services.complete_session(session=session, by=acting_user(request), performed=performed)


@router.get(
    "/sessions/{session_id}",
    response={200: SessionOut, **ERRORS},
    summary="A session's times and status",
)
def get_session(request, session_id: int = path_id("The session's id.")):
    """Who may see an appointment may see its session's times and status: reception
    and managers any, a doctor their own."""
    require(request, "sessions_app.view_session")
    visible = Session.objects.filter(appointment__in=appointments_visible_to(acting_user(request)))
    return get_or_404(visible, session_id)
