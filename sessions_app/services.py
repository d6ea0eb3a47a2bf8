"""The clinical session's lifecycle: created for an arrived patient, started by the
doctor on the appointment's day, completed with the services performed. Each step
runs in one transaction, refuses what the rules refuse with a `SessionError`
(changing nothing), moves the appointment through the scheduling services, and sends
its domain signal."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.translation import gettext, gettext_lazy, ngettext

from clinic.kernel.users import User
from scheduling import services as scheduling
from scheduling.models import Appointment, Service, Status

from . import signals
from .exceptions import AlreadyExists, Busy, InvalidTransition, NotReady, NotYours
from .models import PerformedService, Session, SessionStatus

BUSY_MESSAGES = {
    "doctor": gettext_lazy("%(doctor)s already has a session in progress."),
    "patient": gettext_lazy("%(patient)s is already in a session."),
}


def create_session(*, appointment: Appointment, by: User | None) -> Session:
    """Open the session of an appointment whose patient has arrived; one per
    appointment."""
    try:
        with transaction.atomic():
            appointment = (
                Appointment.objects.select_for_update(of=("self",))
                .select_related("doctor", "patient")
                .get(pk=appointment.pk)
            )
            if by is not None and appointment.doctor.user_id != by.pk:
                raise NotYours(
                    gettext("Only %(doctor)s can open this session.")
                    % {"doctor": appointment.doctor}
                )
            if appointment.status != Status.ARRIVED:
                raise NotReady(
                    gettext(
                        "A session can be opened only once the patient has arrived; "
                        "this appointment is %(status)s."
                    )
                    % {"status": appointment.get_status_display().lower()}
                )
            if Session.objects.filter(appointment=appointment).exists():
                raise AlreadyExists(gettext("This appointment already has a session."))
            return Session.objects.create(
                appointment=appointment,
                doctor=appointment.doctor,
                patient=appointment.patient,
                created_by=by,
            )
    except IntegrityError as error:
        # Two clicks at once: the one-to-one key refused the second session.
        raise AlreadyExists(gettext("This appointment already has a session.")) from error


def open_and_start_session(*, appointment: Appointment, by: User | None) -> Session:
    """The doctor's "Start session" on an arrived patient: opens the appointment's
    session if it has none yet and starts it, all or nothing."""
    with transaction.atomic():
        session = Session.objects.filter(appointment=appointment).first()
        if session is None:
            session = create_session(appointment=appointment, by=by)
        return start_session(session=session, by=by)


def start_session(*, session: Session, by: User | None) -> Session:
    """The doctor starts the session: only on the appointment's day (in the clinic's
    zone), from SESSION_START_LEAD_MINUTES before its time, and while neither the
    doctor nor the patient is in another session (which the database also enforces).
    The appointment moves to in_session."""
    try:
        with transaction.atomic():
            current = _lock(session)
            _check_acting_doctor(current, by)
            if current.status != SessionStatus.CREATED:
                raise InvalidTransition(
                    gettext("This session is already %(status)s.")
                    % {"status": current.get_status_display().lower()}
                )
            _check_start_time(current.appointment)
            _check_not_busy(current)
            current.status = SessionStatus.IN_PROGRESS
            current.started_at = timezone.now()
            current.save(update_fields=["status", "started_at"])
            scheduling.begin_visit(appointment=current.appointment, by=by)
            signals.session_started.send(Session, session=current, by=by)
    except IntegrityError as error:
        raise _busy_from_race(error, session) from error
    return current


def complete_session(
    *,
    session: Session,
    by: User | None,
    performed: list[tuple[Service, int]] | None = None,
) -> Session:
    """The doctor completes the session: records the end and the services performed
    (the appointment's service once, unless given), each at today's price, and the
    appointment becomes completed. `session_completed` lets records sign the notes
    and payments open the invoice."""
    with transaction.atomic():
        current = _lock(session)
        _check_acting_doctor(current, by)
        if current.status != SessionStatus.IN_PROGRESS:
            raise InvalidTransition(
                gettext("Only a session in progress can be completed; this one is %(status)s.")
                % {"status": current.get_status_display().lower()}
            )
        performed = performed or _kept_lines(current) or [(current.appointment.service, 1)]
        _replace_performed(current, performed)
        current.status = SessionStatus.COMPLETED
        current.completed_at = timezone.now()
        current.completed_by = by
        current.save(update_fields=["status", "completed_at", "completed_by"])
        scheduling.complete_visit(appointment=current.appointment, by=by)
        signals.session_completed.send(Session, session=current, by=by)
    return current


def keep_performed_services(
    *, session: Session, by: User | None, performed: list[tuple[Service, int]]
) -> None:
    """The services performed so far, kept while the session is in progress (the
    doctor's Save on the session page); completing the session bills them, unless
    it is given others."""
    with transaction.atomic():
        current = _lock(session)
        _check_acting_doctor(current, by)
        if current.status != SessionStatus.IN_PROGRESS:
            raise InvalidTransition(
                gettext(
                    "Only a session in progress can change its services; this one is %(status)s."
                )
                % {"status": current.get_status_display().lower()}
            )
        _replace_performed(current, performed or [(current.appointment.service, 1)])


def _kept_lines(session: Session) -> list[tuple[Service, int]]:
    return [(line.service, line.quantity) for line in session.performed.select_related("service")]


def _replace_performed(session: Session, performed: list[tuple[Service, int]]) -> None:
    """The session's lines become exactly `performed`, each at today's price."""
    if any(quantity < 1 for _, quantity in performed):
        raise InvalidTransition(gettext("Each performed service needs a quantity of at least 1."))
    if performed != [(session.appointment.service, 1)] and any(
        not service.is_active for service, _ in performed
    ):
        raise InvalidTransition(gettext("A service no longer offered cannot be billed."))
    session.performed.all().delete()
    PerformedService.objects.bulk_create(
        PerformedService(
            session=session, service=service, quantity=quantity, unit_price=service.price
        )
        for service, quantity in performed
    )


def _lock(session: Session) -> Session:
    return (
        Session.objects.select_for_update(of=("self",))
        .select_related("appointment", "appointment__service", "doctor", "patient")
        .get(pk=session.pk)
    )


def _check_acting_doctor(session: Session, by: User | None) -> None:
    """A person acting on a session must be its doctor (`by=None` is the system)."""
    if by is not None and session.doctor.user_id != by.pk:
        raise NotYours(
            gettext("Only %(doctor)s can run this session.") % {"doctor": session.doctor}
        )


def _check_start_time(appointment: Appointment) -> None:
    if appointment.status != Status.ARRIVED:
        raise NotReady(
            gettext(
                "A session can start only for a patient who has arrived; "
                "this appointment is %(status)s."
            )
            % {"status": appointment.get_status_display().lower()}
        )
    now = timezone.localtime()
    starts = timezone.localtime(appointment.starts_at)
    if now.date() != starts.date():
        raise NotReady(
            gettext("This session can start only on the appointment's day, %(day)s.")
            % {"day": format_date(starts, "D d M")}
        )
    earliest = starts - timedelta(minutes=settings.SESSION_START_LEAD_MINUTES)
    if now < earliest:
        lead = settings.SESSION_START_LEAD_MINUTES
        raise NotReady(
            ngettext(
                "Too early: this session can start from %(time)s, "
                "%(minutes)s minute before the appointment.",
                "Too early: this session can start from %(time)s, "
                "%(minutes)s minutes before the appointment.",
                lead,
            )
            % {"time": f"{earliest:%H:%M}", "minutes": lead}
        )


def _check_not_busy(session: Session) -> None:
    in_progress = Session.objects.filter(status=SessionStatus.IN_PROGRESS).exclude(pk=session.pk)
    if in_progress.filter(doctor=session.doctor).exists():
        raise _busy("doctor", session)
    if in_progress.filter(patient=session.patient).exists():
        raise _busy("patient", session)


def _busy(role: str, session: Session) -> Busy:
    return Busy(BUSY_MESSAGES[role] % {"doctor": session.doctor, "patient": session.patient})


def _busy_from_race(error: IntegrityError, session: Session) -> Busy:
    """Two starts at once: a partial unique constraint refused the second. PostgreSQL
    names the constraint; SQLite names the column."""
    text = str(error)
    for role in BUSY_MESSAGES:
        if f"session_one_in_progress_per_{role}" in text or f"session.{role}_id" in text:
            return _busy(role, session)
    raise error
