"""The booking site's use cases (DESIGN.md section 9): verifying a phone by a texted
code, finding who is booking without telling a stranger who is a patient, booking,
and the patient's own confirm, cancel and reschedule through the personal link.

Each change goes through scheduling's services, so every booking rule and the
database's overlap guarantee hold as at the desk; the online rules (OnlineRules)
come on top. The history says "by the patient online" (AppointmentChange.Via).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import PhoneNumber, to_python
from phonenumbers import country_code_for_region

from clinic.kernel.errors import DomainError
from doctors.models import Doctor
from patients.models import Patient
from patients.normalise import name_key
from scheduling import services as scheduling
from scheduling.availability import local_day
from scheduling.exceptions import Overlap, SchedulingError
from scheduling.models import RESCHEDULABLE, Appointment, AppointmentChange, OnlineBooking, Service
from scheduling.models import Status as AppointmentStatus
from scheduling.overlaps import lock_calendars
from scheduling.selectors import Slot, free_slots

from . import signals
from .models import ManageLink, OnlineRules, PhoneCode, WaitlistEntry
from .tokens import digest, new_code, new_token
from .waitlist import join_waitlist

Via = AppointmentChange.Via

CODE_VALID = timedelta(minutes=10)
CODE_TRIES = 5
CODES_PER_HOUR = 3
# A verified phone stays verified in the visitor's session for this long.
VERIFIED_FOR = timedelta(minutes=30)


class OnlineError(DomainError):
    """What the booking site refuses, in words for the patient."""


class TimeTaken(OnlineError):
    """The time was booked by someone else meanwhile."""

    code = "taken"


# --- The phone and its code --------------------------------------------------------


def normalised_phone(raw: str) -> str:
    """The phone in E.164, or "" when it is no valid number of the clinic's country:
    codes are texted only there (an open form that texts any country's numbers is
    what SMS-pumping fraud looks for)."""
    number = to_python(raw.strip(), region=settings.CLINIC_PHONE_REGION)
    if not isinstance(number, PhoneNumber) or not number.is_valid():
        return ""
    if number.country_code != country_code_for_region(settings.CLINIC_PHONE_REGION):
        return ""
    return number.as_e164


def request_code(*, phone: str) -> None:
    """Text a six-digit code to `phone` (E.164), valid for ten minutes. At most three
    codes an hour for a phone: a fourth asks for patience. The same answer whether or
    not the phone belongs to a patient."""
    now = timezone.now()
    with transaction.atomic():
        lock_phone(phone)
        recent = PhoneCode.objects.filter(phone=phone, created_at__gt=now - timedelta(hours=1))
        if len(recent) >= CODES_PER_HOUR:
            raise OnlineError(
                _(
                    "We have sent this phone %(count)s codes in the last hour; "
                    "please try again later."
                )
                % {"count": CODES_PER_HOUR}
            )
        code = new_code()
        row = PhoneCode.objects.create(
            phone=phone,
            code_hash=digest(code, purpose="code"),
            created_at=now,
            expires_at=now + CODE_VALID,
        )
        signals.phone_code_requested.send(PhoneCode, phone=phone, code=code, code_id=row.pk)


def lock_phone(phone: str) -> None:
    """Until the transaction ends, requests for one phone take turns, so that two
    at once cannot both find fewer than three codes (there may be no row yet to
    lock). PostgreSQL's transaction-level advisory lock, which a pooler in
    transaction mode keeps; SQLite's write transactions take turns already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"online.phone:{phone}"])


def verify_code(*, phone: str, code: str) -> None:
    """Accept the latest code texted to `phone`, or refuse: wrong (five tries),
    expired, or already used."""
    with transaction.atomic():
        refusal = _try_code(phone, code.strip())
    # Raised once the transaction has committed: a wrong try must stay counted.
    if refusal:
        raise OnlineError(refusal)


def _try_code(phone: str, code: str) -> str:
    """Inside a transaction: use the code if it is right; else the refusal."""
    now = timezone.now()
    latest = (
        PhoneCode.objects.select_for_update()
        .filter(phone=phone)
        .order_by("-created_at", "-pk")
        .first()
    )
    if latest is None or latest.used_at is not None or latest.expires_at <= now:
        return _("This code has expired. Ask for a new one.")
    if latest.attempts >= CODE_TRIES:
        return _("Too many wrong codes. Ask for a new one.")
    if digest(code, purpose="code") != latest.code_hash:
        PhoneCode.objects.filter(pk=latest.pk).update(attempts=F("attempts") + 1)
        if latest.attempts + 1 >= CODE_TRIES:
            return _("Too many wrong codes. Ask for a new one.")
        return _("That code is not right. Check the text and try again.")
    latest.used_at = now
    latest.save(update_fields=["used_at"])
    return ""


# --- Who is booking ------------------------------------------------------------------


@dataclass(frozen=True)
class Visitor:
    """What a visitor typed, with their phone verified."""

    given_name: str
    family_name: str
    date_of_birth: date
    phone: str  # E.164, verified
    email: str = ""
    language: str = ""


def known_patient(visitor: Visitor) -> Patient | None:
    """The patient with the visitor's verified phone and date of birth (the one with
    the same name too, when a family shares both), or None."""
    matches = list(
        Patient.objects.filter(
            phone=visitor.phone, date_of_birth=visitor.date_of_birth, merged_into__isnull=True
        ).order_by("pk")
    )
    if len(matches) > 1:
        key = name_key(given_name=visitor.given_name, family_name=visitor.family_name)
        matches = [patient for patient in matches if patient.search_text == key] or matches
    return matches[0] if matches else None


def patient_for(visitor: Visitor, *, service: Service, rules: OnlineRules) -> Patient:
    """The patient who books: the known one, else a new one registered online for
    reception to review (their duplicate check shows any likely match). Refused when
    the service or the rules do not take this patient online."""
    patient = known_patient(visitor)
    if patient is not None:
        if service.online_booking == OnlineBooking.NEW:
            raise OnlineError(
                _("%(service)s is for new patients. Please choose another service.")
                % {"service": service.name}
            )
        return patient
    if not rules.new_patients_allowed:
        raise OnlineError(
            _("We could not find your record. Please call the clinic to book your first visit.")
        )
    if service.online_booking == OnlineBooking.EXISTING:
        raise OnlineError(
            _(
                "%(service)s is for patients the clinic already knows. "
                "Please choose another service."
            )
            % {"service": service.name}
        )
    return Patient.objects.create(
        given_name=visitor.given_name.strip(),
        family_name=visitor.family_name.strip(),
        date_of_birth=visitor.date_of_birth,
        phone=visitor.phone,
        email=visitor.email.strip(),
        preferred_language=visitor.language,
        registered_online=True,
    )


# --- Free times and booking -------------------------------------------------------------


def online_services() -> QuerySet[Service]:
    """The active services patients may book online with at least one doctor
    bookable online (every doctor offers a service that names none)."""
    online_doctors = Doctor.objects.active().filter(bookable_online=True)
    chosen = Service.doctors.through.objects.filter(service_id=OuterRef("pk"))
    offered = Q(Exists(chosen.filter(doctor__in=online_doctors))) | Q(
        ~Exists(chosen), Exists(online_doctors)
    )
    return (
        Service.objects.active()
        .exclude(online_booking=OnlineBooking.NO)
        .filter(offered)
        .order_by("name")
    )


def online_doctors(service: Service) -> QuerySet[Doctor]:
    return service.offering_doctors().active().filter(bookable_online=True)


def bookable_window(rules: OnlineRules, now: datetime | None = None) -> tuple[datetime, date]:
    """The earliest start patients may book online now, and the last day."""
    now = now or timezone.now()
    return now + rules.min_notice, local_day(now) + timedelta(days=rules.horizon_days)


def week_of_free_times(
    *,
    service: Service,
    doctor: Doctor | None,
    first_day: date,
    rules: OnlineRules,
    ignoring: Appointment | None = None,
    days: int = 7,
) -> list[Slot]:
    """The free times patients may book online from `first_day` for `days` days:
    with `doctor` or any doctor bookable online, after the minimum notice and within
    the horizon."""
    earliest, last_day = bookable_window(rules)
    first_day = max(first_day, local_day(earliest))
    until = min(first_day + timedelta(days=days - 1), last_day)
    if until < first_day:
        return []
    slots = free_slots(
        service=service,
        date_from=first_day,
        date_to=until,
        doctor=doctor,
        ignoring=ignoring,
        online=True,
    )
    return [slot for slot in slots if slot.starts_at >= earliest]


def nearest_free_times(
    *,
    service: Service,
    doctor: Doctor | None,
    around: datetime,
    rules: OnlineRules,
    limit: int = 6,
) -> list[Slot]:
    """Free times closest to `around` (a time just taken), for "here are the nearest"."""
    slots = week_of_free_times(
        service=service,
        doctor=doctor,
        first_day=local_day(around) - timedelta(days=1),
        rules=rules,
        days=4,
    )
    slots.sort(key=lambda slot: abs((slot.starts_at - around).total_seconds()))
    return sorted(slots[:limit], key=lambda slot: slot.starts_at)


def book_online(
    *,
    patient: Patient,
    service: Service,
    doctor: Doctor,
    starts_at: datetime,
    rules: OnlineRules,
) -> Appointment:
    """Book a time the patient chose on the booking site, under the online rules,
    through the desk's booking service."""
    if service.online_booking == OnlineBooking.NO or not service.is_active:
        raise OnlineError(_("This service cannot be booked online."))
    if not doctor.bookable_online or not doctor.is_active:
        raise OnlineError(_("This doctor cannot be booked online."))
    check_online_time(starts_at, rules)
    with transaction.atomic():
        # The calendars locked (the doctor's, then the patient's, as every booking
        # takes them) make two bookings of one patient take turns, so the count
        # below cannot be passed by booking twice at once.
        lock_calendars(doctor=doctor, patient=patient)
        if future_online_bookings(patient) >= rules.max_future_bookings:
            raise OnlineError(
                _(
                    "You already have %(count)s appointments booked online. Please call "
                    "the clinic to book more."
                )
                % {"count": rules.max_future_bookings}
            )
        try:
            return scheduling.book_appointment(
                patient=patient,
                doctor=doctor,
                service=service,
                starts_at=starts_at,
                booked_by=None,
                via=Via.ONLINE,
            )
        except Overlap as overlap:
            clash = overlap.conflict
            if isinstance(clash, Appointment) and clash.patient_id == patient.pk:
                raise OnlineError(_("You already have an appointment at this time.")) from overlap
            raise TimeTaken(
                _("This time was just taken. Here are the nearest free times.")
            ) from overlap
        except SchedulingError as error:
            raise TimeTaken(
                _("This time is no longer free. Here are the nearest free times.")
            ) from error


def book_for_visitor(
    visitor: Visitor, *, service: Service, doctor: Doctor, starts_at: datetime, rules: OnlineRules
) -> Appointment:
    """Book for the visitor whose phone was verified: as the patient they are, or
    as a new one. One transaction: a patient registered for a booking that fails
    is not kept (a "new patients only" service would refuse them the next time)."""
    with transaction.atomic():
        patient = patient_for(visitor, service=service, rules=rules)
        return book_online(
            patient=patient, service=service, doctor=doctor, starts_at=starts_at, rules=rules
        )


def join_waitlist_for_visitor(
    visitor: Visitor,
    *,
    service: Service,
    doctor: Doctor | None,
    date_from: date,
    date_to: date,
    times_of_day: str,
    rules: OnlineRules,
) -> WaitlistEntry:
    """Put the verified visitor on the waitlist, as the patient they are or a new one;
    one transaction, as for booking."""
    with transaction.atomic():
        patient = patient_for(visitor, service=service, rules=rules)
        return join_waitlist(
            patient=patient,
            service=service,
            doctor=doctor,
            date_from=date_from,
            date_to=date_to,
            times_of_day=times_of_day,
            source=WaitlistEntry.Source.ONLINE,
        )


def check_online_time(starts_at: datetime, rules: OnlineRules) -> None:
    earliest, last_day = bookable_window(rules)
    if starts_at < earliest:
        raise OnlineError(
            _("Online bookings need at least %(hours)s notice. Please choose a later time.")
            % {"hours": _notice_words(rules)}
        )
    if local_day(starts_at) > last_day:
        raise OnlineError(
            _("Online bookings go at most %(days)s days ahead.") % {"days": rules.horizon_days}
        )


def _notice_words(rules: OnlineRules) -> str:
    minutes = rules.min_notice_minutes
    if minutes % 60 == 0:
        return _("%(count)s h") % {"count": minutes // 60}
    return _("%(count)s min") % {"count": minutes}


def future_online_bookings(patient: Patient) -> int:
    """The patient's active appointments still ahead that they booked themselves:
    on the booking site or by taking a waitlist offer."""
    # Booked on the booking site, or taken from a waitlist offer (by link or reply).
    online = Q(changes__action=AppointmentChange.Action.BOOKED, changes__via=Via.ONLINE) | Q(
        changes__action=AppointmentChange.Action.HOLD_TAKEN
    )
    return (
        Appointment.objects.active()
        .filter(online, patient=patient, starts_at__gt=timezone.now())
        .distinct()
        .count()
    )


# --- The personal link -----------------------------------------------------------------


def manage_link(appointment: Appointment) -> str:
    """A new personal link to `appointment`, absolute (for a text). Only its hash is
    kept; each text gets its own link."""
    token = new_token()
    ManageLink.objects.create(appointment=appointment, token_hash=digest(token, purpose="link"))
    return settings.PUBLIC_BASE_URL + reverse("online:manage", args=[token])


def appointment_for_link(token: str) -> Appointment | None:
    """The appointment a personal link opens, while it is not over; else None."""
    link = (
        ManageLink.objects.select_related(
            "appointment__doctor", "appointment__patient", "appointment__service"
        )
        .filter(token_hash=digest(token, purpose="link"))
        .first()
    )
    if link is None or link.appointment.ends_at <= timezone.now():
        return None
    return link.appointment


def can_cancel_online(appointment: Appointment, rules: OnlineRules) -> bool:
    """Before the late-cancel cutoff; after it the patient phones the clinic."""
    return (
        appointment.status in RESCHEDULABLE
        and timezone.now() < appointment.starts_at - rules.late_cancel
    )


def confirm_online(*, appointment: Appointment) -> Appointment:
    appointment.refresh_from_db(fields=["status"])
    if appointment.status == AppointmentStatus.CONFIRMED:
        return appointment  # Confirmed already (twice from the link, or by SMS too).
    return scheduling.confirm_appointment(appointment=appointment, by=None, via=Via.ONLINE)


def cancel_online(*, appointment: Appointment, rules: OnlineRules) -> Appointment:
    appointment.refresh_from_db(fields=["status"])
    if appointment.status == AppointmentStatus.CANCELLED:
        return appointment
    if not can_cancel_online(appointment, rules):
        raise OnlineError(
            _("It is too late to cancel online. Please call the clinic on %(phone)s.")
            % {"phone": settings.CLINIC_PHONE or _("its usual number")}
        )
    return scheduling.cancel_appointment(
        appointment=appointment,
        reason=_("Cancelled by the patient online."),
        by=None,
        via=Via.ONLINE,
    )


def reschedule_online(
    *, appointment: Appointment, starts_at: datetime, rules: OnlineRules
) -> Appointment:
    """Move the appointment to another free time with the same doctor, under the
    online rules (the late-cancel cutoff included: a late move is a late cancel)."""
    if not can_cancel_online(appointment, rules):
        raise OnlineError(
            _(
                "It is too late to move this appointment online. "
                "Please call the clinic on %(phone)s."
            )
            % {"phone": settings.CLINIC_PHONE or _("its usual number")}
        )
    check_online_time(starts_at, rules)
    try:
        return scheduling.reschedule_appointment(
            appointment=appointment, starts_at=starts_at, by=None, via=Via.ONLINE
        )
    except Overlap as overlap:
        raise TimeTaken(
            _("This time was just taken. Here are the nearest free times.")
        ) from overlap
