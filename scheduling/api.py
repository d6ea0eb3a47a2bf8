"""The appointments of the JSON API (mounted by clinic/api.py): the same selectors
and lifecycle services as reception's pages, with the same permissions. Doctors
read their own appointments only; guessing another id finds nothing (404)."""

# No `from __future__ import annotations`: ninja reads a paginated view's parameter
# types through its wrapper, whose module cannot resolve this module's names.
from datetime import datetime, timedelta
from typing import Annotated

from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status as Reply

from clinic.kernel.api import ERRORS, STATE_ERRORS, acting_user, require
from clinic.kernel.api_types import (
    AwareTime,
    ClinicDay,
    ClinicTime,
    Id,
    OptionalId,
    Page,
    Text,
    get_or_404,
    narrowed,
    path_id,
    refuse_fields,
)
from clinic.kernel.rows import rows_by_id
from doctors.api import DoctorRef
from doctors.models import Doctor
from patients.api import PatientRef
from patients.models import Patient

from . import services
from .api_catalogue import ServiceRef
from .availability import day_bounds
from .constraints import MAX_APPOINTMENT_MINUTES, MIN_APPOINTMENT_MINUTES
from .models import Appointment, AppointmentChange, Service, Status
from .selectors import appointment_detail, appointments_visible_to, with_history

router = Router(tags=["appointments"])


class AppointmentOut(Schema):
    id: int
    status: Status
    starts_at: ClinicTime
    ends_at: ClinicTime
    doctor: DoctorRef
    patient: PatientRef
    service: ServiceRef
    reason: str
    cancellation_reason: str
    arrived_at: ClinicTime | None
    walk_in: bool
    created_at: ClinicTime


class ChangeOut(Schema):
    """One entry of the appointment's history."""

    action: AppointmentChange.Action
    at: ClinicTime
    by: str | None
    from_status: Status | None
    to_status: Status
    from_starts_at: ClinicTime | None
    from_ends_at: ClinicTime | None
    to_starts_at: ClinicTime
    to_ends_at: ClinicTime
    note: str

    @staticmethod
    def resolve_at(change: AppointmentChange) -> datetime:
        return change.changed_at

    @staticmethod
    def resolve_by(change: AppointmentChange) -> str | None:
        user = change.changed_by
        return None if user is None else (user.get_full_name() or user.get_username())

    @staticmethod
    def resolve_from_status(change: AppointmentChange) -> str | None:
        return change.from_status or None


class AppointmentDetail(AppointmentOut):
    history: list[ChangeOut]

    @staticmethod
    def resolve_history(appointment: Appointment) -> list[AppointmentChange]:
        return list(appointment.changes.all())


class AppointmentFilters(Schema):
    date: ClinicDay | None = Field(None, description="Appointments starting on this clinic day.")
    doctor: OptionalId = None
    patient: OptionalId = None
    status: Status | None = None


class BookIn(Schema):
    patient: Id
    doctor: Id
    service: Id
    starts_at: AwareTime
    duration: int | None = Field(
        None,
        ge=MIN_APPOINTMENT_MINUTES,
        le=MAX_APPOINTMENT_MINUTES,
        description="Length in minutes; the service's when absent.",
    )
    reason: Annotated[str, Text(300)] = ""


class WalkInIn(Schema):
    patient: Id
    service: Id
    doctor: OptionalId = Field(None, description="The doctor; the first one free when absent.")


class RescheduleIn(Schema):
    starts_at: AwareTime
    duration: int | None = Field(
        None,
        ge=MIN_APPOINTMENT_MINUTES,
        le=MAX_APPOINTMENT_MINUTES,
        description="New length in minutes; the same length when absent.",
    )
    doctor: OptionalId = Field(
        None,
        description="Another doctor, who must offer the appointment's service; the same "
        "doctor when absent.",
    )


class CancelIn(Schema):
    reason: Annotated[str, Text(300)] = Field(
        ..., description="Why the appointment is cancelled (required)."
    )


def _minutes(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(minutes=value)


def _visible(request, appointment_id: int) -> Appointment:
    """The appointment if this user may see it, else 404 (as on the pages)."""
    return get_or_404(appointments_visible_to(acting_user(request)), appointment_id)


def _detail(appointment: Appointment) -> Appointment:
    return appointment_detail(pk=appointment.pk)


@router.get(
    "/appointments",
    response={200: list[AppointmentOut], **ERRORS},
    summary="List appointments",
)
@paginate(Page)
def list_appointments(request, filters: Query[AppointmentFilters]):
    """Appointments by start time: the clinic's for reception and managers, a
    doctor's own for a doctor. Filter by clinic day, doctor, patient and status."""
    require(request, "scheduling.view_appointment")
    found = (
        appointments_visible_to(acting_user(request))
        .select_related("doctor", "patient", "service")
        .order_by("starts_at", "pk")
    )
    if filters.date is not None:
        bounds = day_bounds(filters.date)
        found = found.filter(starts_at__gte=bounds.starts_at, starts_at__lt=bounds.ends_at)
    return narrowed(
        found, doctor_id=filters.doctor, patient_id=filters.patient, status=filters.status
    )


# Declared before "/appointments/{appointment_id}", whose URL pattern would otherwise
# take "walk-in" for an id (and answer 405 to the POST).
@router.post(
    "/appointments/walk-in",
    response={201: AppointmentDetail, **STATE_ERRORS},
    summary="Book a walk-in and check them in",
)
def walk_in(request, payload: WalkInIn):
    """The patient is at the desk: book them at the earliest minute from now that
    the doctor (or, without one, the doctor free soonest) can take the service
    today, confirm and check them in, all at once. No text goes to the patient; the
    doctor is told they have arrived. Nobody free today is 422 `unavailable`, with
    the next free time in the message."""
    require(request, "scheduling.add_appointment", "scheduling.change_appointment")
    # The three (or two) in one query.
    doctor: Doctor | None = None
    if payload.doctor is None:
        patient, service = rows_by_id((Patient, payload.patient), (Service, payload.service))
    else:
        patient, service, doctor = rows_by_id(
            (Patient, payload.patient), (Service, payload.service), (Doctor, payload.doctor)
        )
    missing = {
        name: f"No such {name}."
        for name, found, asked in (
            ("patient", patient, True),
            ("service", service, True),
            ("doctor", doctor, payload.doctor is not None),
        )
        if asked and found is None
    }
    if missing or patient is None or service is None:
        raise refuse_fields(**missing)
    appointment = services.book_walk_in(
        patient=patient, service=service, doctor=doctor, by=acting_user(request)
    )
    return Reply(201, with_history(appointment))


@router.get(
    "/appointments/{appointment_id}",
    response={200: AppointmentDetail, **ERRORS},
    summary="One appointment with its history",
)
def get_appointment(request, appointment_id: int = path_id("The appointment's id.")):
    require(request, "scheduling.view_appointment")
    return _detail(_visible(request, appointment_id))


@router.post(
    "/appointments",
    response={201: AppointmentDetail, **STATE_ERRORS},
    summary="Book an appointment",
)
def book(request, payload: BookIn):
    """Book a patient with a doctor for a service: inside the doctor's hours, not in
    the past, overlapping nothing of the doctor or the patient (409 `overlap`, with
    the appointment in the way)."""
    require(request, "scheduling.add_appointment")
    # The three in one query (not one each).
    patient, doctor, service = rows_by_id(
        (Patient, payload.patient), (Doctor, payload.doctor), (Service, payload.service)
    )
    missing = {
        name: f"No such {name}."
        for name, found in (("patient", patient), ("doctor", doctor), ("service", service))
        if found is None
    }
    if missing or patient is None or doctor is None or service is None:
        raise refuse_fields(**missing)
    appointment = services.book_appointment(
        patient=patient,
        doctor=doctor,
        service=service,
        starts_at=payload.starts_at,
        duration=_minutes(payload.duration),
        reason=payload.reason,
        booked_by=acting_user(request),
    )
    # The new appointment holds the doctor, patient and service it was booked with,
    # and the service gave it its history (the one entry it wrote): the answer reads
    # nothing back.
    return Reply(201, with_history(appointment))


def _act(request, appointment_id: int, action, **arguments) -> Appointment:
    """A lifecycle action with reception's permission, on a visible appointment."""
    require(request, "scheduling.change_appointment")
    appointment = _visible(request, appointment_id)
    return _detail(action(appointment=appointment, by=acting_user(request), **arguments))


ACTION = {200: AppointmentDetail, **STATE_ERRORS}


@router.post("/appointments/{appointment_id}/confirm", summary="Confirm", response=ACTION)
def confirm(request, appointment_id: int = path_id("The appointment's id.")):
    """The patient confirmed they will come: booked -> confirmed."""
    return _act(request, appointment_id, services.confirm_appointment)


@router.post("/appointments/{appointment_id}/reschedule", summary="Reschedule", response=ACTION)
def reschedule(
    request, payload: RescheduleIn, appointment_id: int = path_id("The appointment's id.")
):
    """Move a booked or confirmed appointment, keeping its length unless given, to
    another doctor when given (one who does not offer the service: 422
    `unavailable`)."""
    require(request, "scheduling.change_appointment")
    doctor = None if payload.doctor is None else Doctor.objects.filter(pk=payload.doctor).first()
    if payload.doctor is not None and doctor is None:
        raise refuse_fields(doctor="No such doctor.")
    return _act(
        request,
        appointment_id,
        services.reschedule_appointment,
        starts_at=payload.starts_at,
        duration=_minutes(payload.duration),
        doctor=doctor,
    )


@router.post("/appointments/{appointment_id}/cancel", summary="Cancel", response=ACTION)
def cancel(request, payload: CancelIn, appointment_id: int = path_id("The appointment's id.")):
    """Cancel a booked or confirmed appointment; the reason is required."""
    return _act(request, appointment_id, services.cancel_appointment, reason=payload.reason)


@router.post("/appointments/{appointment_id}/check-in", summary="Check in", response=ACTION)
def check_in(request, appointment_id: int = path_id("The appointment's id.")):
    """The patient has arrived: confirmed -> arrived, only on the appointment's day."""
    return _act(request, appointment_id, services.check_in)


@router.post(
    "/appointments/{appointment_id}/undo-check-in", summary="Undo a check-in", response=ACTION
)
def undo_check_in(request, appointment_id: int = path_id("The appointment's id.")):
    """A mistaken check-in: arrived -> confirmed, until the doctor starts the
    session (then 409 `invalid_transition`)."""
    return _act(request, appointment_id, services.undo_check_in)


@router.post("/appointments/{appointment_id}/no-show", summary="Mark as a no-show", response=ACTION)
def no_show(request, appointment_id: int = path_id("The appointment's id.")):
    """The patient did not come: booked or confirmed -> no_show, only after the
    start time."""
    return _act(request, appointment_id, services.mark_no_show)
