"""The rules of DESIGN.md section 4: which event sends which message to whom.

Receivers of the scheduling and sessions signals. They run inside the transaction of
the change, so a rolled-back change queues nothing, and the worker is woken only on
commit (services.queue_message). The thank-you after a visit, which carries the link
to pay, is payments' own (payments.services.thank_patient), queued through the same
outbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from clinic.kernel.roles import RECEPTION
from doctors.models import Doctor
from online import signals as online
from online.models import WaitlistEntry, WaitlistOffer
from online.services import manage_link
from scheduling import signals as scheduling
from scheduling.models import Appointment, AppointmentChange
from scheduling.models import Status as AppointmentStatus
from sessions_app import signals as sessions
from sessions_app.models import Session

from .messages import appointment_context, clock, in_language_of, when
from .models import PHONE_CODE_TEMPLATE, Channel, Notification
from .services import cancel_pending, queue_message, withdraw_alerts

REMINDER = "appointment_reminder"


# --- Patients ------------------------------------------------------------------


@receiver(scheduling.appointment_booked)
def tell_patient_booked(appointment: Appointment, **kwargs) -> None:
    if appointment.walk_in:
        return  # Booked at the desk with the patient standing there.
    # The appointment is new in this transaction, so is the key.
    _sms_to_patient(appointment, "appointment_booked", key=f"booked:{appointment.pk}", fresh=True)


@receiver(scheduling.appointment_confirmed)
def tell_patient_confirmed(appointment: Appointment, **kwargs) -> None:
    if appointment.walk_in:
        return  # Seen now: no text, nothing to remind them of.
    _sms_to_patient(appointment, "appointment_confirmed", key=f"confirmed:{appointment.pk}")
    schedule_reminders(appointment)


@receiver(scheduling.appointment_rescheduled)
def tell_rescheduled(
    appointment: Appointment,
    change,
    previous_starts_at,
    previous_doctor: Doctor | None = None,
    **kwargs,
) -> None:
    cancel_pending(_reminders_of(appointment))
    _sms_to_patient(
        appointment,
        "appointment_rescheduled",
        key=f"rescheduled:{change.pk}",
        previous_when=previous_starts_at,
    )
    if previous_doctor is None or previous_doctor.pk == appointment.doctor_id:
        _tell_doctor(
            appointment,
            "doctor_appointment_rescheduled",
            key=f"rescheduled:{change.pk}:doctor",
            previous_when=when(previous_starts_at),
        )
    else:
        # Moved to another doctor: the new one has a patient more, the old one a
        # free slot; each is told in their own words.
        for template, key, told in (
            ("doctor_appointment_moved_in", "doctor", None),
            ("doctor_appointment_moved_away", "previous_doctor", previous_doctor),
        ):
            _tell_doctor(
                appointment,
                template,
                key=f"rescheduled:{change.pk}:{key}",
                doctor=told,
                previous_when=when(previous_starts_at),
                previous_doctor=str(previous_doctor),
            )
    if appointment.status == AppointmentStatus.CONFIRMED:
        schedule_reminders(appointment)


@receiver(scheduling.appointment_cancelled)
def tell_cancelled(appointment: Appointment, **kwargs) -> None:
    # What was still waiting (a reminder, a "booked" held by quiet hours) is moot.
    cancel_pending(appointment.notifications.all())
    _sms_to_patient(appointment, "appointment_cancelled", key=f"cancelled:{appointment.pk}")
    _tell_doctor(
        appointment, "doctor_appointment_cancelled", key=f"cancelled:{appointment.pk}:doctor"
    )


@receiver(scheduling.appointment_no_show)
def offer_rebooking(appointment: Appointment, **kwargs) -> None:
    cancel_pending(appointment.notifications.all())
    _sms_to_patient(appointment, "appointment_no_show", key=f"no_show:{appointment.pk}")


@receiver(scheduling.rebooking_call_promised)
def tell_patient_clinic_will_call(appointment: Appointment, flag, **kwargs) -> None:
    """Reception's one click on the rebooking list: the doctor no longer has the
    appointment's time, and the clinic will call. Once per flag."""
    _sms_to_patient(appointment, "rebooking_call", key=f"rebooking_call:{flag.pk}")


def schedule_reminders(appointment: Appointment) -> None:
    """A reminder at each of settings.NOTIFICATIONS_REMINDER_HOURS before the
    appointment, for those still in the future. The key carries the start time, so
    a moved appointment gets new reminders and moving it back revives the old ones."""
    now = timezone.now()
    for hours in settings.NOTIFICATIONS_REMINDER_HOURS:
        send_after = appointment.starts_at - timedelta(hours=hours)
        if send_after <= now:
            continue
        _sms_to_patient(
            appointment,
            REMINDER,
            key=f"reminder:{appointment.pk}:{hours}h:{appointment.starts_at.isoformat()}",
            send_after=send_after,
            revive=True,
        )


def _reminders_of(appointment: Appointment):
    return appointment.notifications.filter(template=REMINDER)


# The texts about an appointment still ahead carry the patient's personal link to it
# (online.services.manage_link): confirm, cancel or move it themselves.
WITH_MANAGE_LINK = frozenset(
    {
        "appointment_booked",
        "appointment_confirmed",
        "appointment_rescheduled",
        REMINDER,
        "rebooking_call",
    }
)


# The texts after an appointment that will not happen point to the booking site.
WITH_BOOKING_SITE = frozenset({"appointment_cancelled", "appointment_no_show"})


def _sms_to_patient(
    appointment: Appointment,
    template: str,
    *,
    key: str,
    send_after: datetime | None = None,
    revive: bool = False,
    fresh: bool = False,
    **extra,
) -> Notification:
    """Queue an SMS to the appointment's patient, in their language; `extra` goes to
    the template."""
    if template in WITH_MANAGE_LINK and settings.PUBLIC_BASE_URL:
        extra["manage_url"] = manage_link(appointment)
    if template in WITH_BOOKING_SITE and settings.PUBLIC_BASE_URL:
        extra["book_url"] = settings.PUBLIC_BASE_URL + reverse("online:home")
    with in_language_of(appointment.patient):
        return queue_message(
            key=key,
            template=template,
            channel=Channel.SMS,
            patient=appointment.patient,
            appointment=appointment,
            context={**appointment_context(appointment), **extra, **_localised(extra)},
            send_after=send_after,
            revive=revive,
            fresh=fresh,
        )


def _localised(extra: dict) -> dict:
    """Times the caller passed as instants, written in the active language."""
    return {
        name: when(value) if name.endswith("when") else clock(value)
        for name, value in extra.items()
        if isinstance(value, datetime)
    }


# --- Patients online ---------------------------------------------------------------


@receiver(online.phone_code_requested)
def text_phone_code(phone: str, code: str, code_id: int, **kwargs) -> None:
    """The booking site's code, to a phone that may belong to no patient yet: at
    once (the visitor is waiting for it), and once per code."""
    queue_message(
        key=f"phone_code:{code_id}",
        template=PHONE_CODE_TEMPLATE,
        channel=Channel.SMS,
        phone=phone,
        urgent=True,
        context={"code": code},
    )


@receiver(online.waitlist_joined)
def text_waitlist_joined(entry: WaitlistEntry, **kwargs) -> None:
    """What the patient now waits for, and that a time will come by text."""
    patient = entry.patient
    with in_language_of(patient):
        context = {
            "patient_first_name": patient.given_name,
            "date_from": date_format(entry.date_from, "D j M"),
            "date_to": date_format(entry.date_to, "D j M"),
            "doctor": entry.doctor.display_name if entry.doctor else "",
        }
        queue_message(
            key=f"waitlist_joined:{entry.pk}",
            template="waitlist_joined",
            channel=Channel.SMS,
            patient=patient,
            context=context,
            fresh=True,
        )


@receiver(online.waitlist_offer_made)
def text_waitlist_offer(offer: WaitlistOffer, link: str, **kwargs) -> None:
    hold = offer.hold
    _sms_to_patient(
        hold,
        "waitlist_offer",
        key=f"waitlist_offer:{offer.pk}",
        offer_url=link,
        held_until=offer.expires_at,
    )


@receiver(online.waitlist_offer_lapsed)
def text_waitlist_offer_lapsed(offer: WaitlistOffer, **kwargs) -> None:
    _sms_to_patient(offer.hold, "waitlist_offer_lapsed", key=f"waitlist_lapsed:{offer.pk}")


# --- Staff ----------------------------------------------------------------------


@receiver(scheduling.patient_arrived)
def tell_doctor_arrived(appointment: Appointment, change: AppointmentChange, **kwargs) -> None:
    # The patient is here: a reminder still waiting would only confuse them.
    cancel_pending(_reminders_of(appointment))
    for channel in settings.NOTIFICATIONS_ARRIVAL_CHANNELS:
        _tell_doctor(
            appointment,
            "doctor_patient_arrived",
            # One per check-in: a patient checked in again after an undo is news.
            key=f"{_arrival_key(appointment, change)}{channel}",
            channel=channel,
            link=reverse("scheduling:my_day"),
        )


@receiver(scheduling.check_in_undone)
def withdraw_arrival(
    appointment: Appointment,
    change: AppointmentChange,
    check_in: AppointmentChange | None,
    **kwargs,
) -> None:
    """The check-in was a mistake: the doctor's alert of it is withdrawn (a note
    follows one they may have seen), and the reminders still ahead come back."""
    alerts = appointment.notifications.filter(
        idempotency_key__startswith=_arrival_key(appointment, check_in)
    )
    if withdraw_alerts(alerts):
        _tell_doctor(
            appointment,
            "doctor_check_in_undone",
            key=f"check_in_undone:{change.pk}:doctor",
            link=reverse("scheduling:my_day"),
        )
    if not appointment.walk_in:  # A walk-in never had any.
        schedule_reminders(appointment)


def _arrival_key(appointment: Appointment, check_in: AppointmentChange | None) -> str:
    """What the keys of the doctor's alerts of one check-in begin with; of any of
    the appointment's check-ins, without one."""
    if check_in is None:
        return f"arrived:{appointment.pk}:"
    return f"arrived:{appointment.pk}:{check_in.pk}:doctor:"


@receiver(sessions.session_started)
def tell_reception_started(session: Session, **kwargs) -> None:
    _tell_reception(session, "reception_session_started", key=f"session_started:{session.pk}")


@receiver(sessions.session_completed)
def tell_reception_completed(session: Session, **kwargs) -> None:
    _tell_reception(session, "reception_session_completed", key=f"session_completed:{session.pk}")


def _tell_doctor(
    appointment: Appointment,
    template: str,
    *,
    key: str,
    channel: str = Channel.IN_APP,
    link: str = "",
    doctor: Doctor | None = None,
    **extra,
) -> None:
    """Alert the appointment's doctor (or `doctor`, one it has left)."""
    doctor_user = (doctor or appointment.doctor).user
    if doctor_user is None:
        return  # A doctor without a login has no inbox.
    queue_message(
        key=key,
        template=template,
        channel=channel,
        user=doctor_user,
        appointment=appointment,
        context={**appointment_context(appointment), **extra},
        link=link or appointment.get_absolute_url(),
        subject=f"{settings.CLINIC_NAME}: {appointment.patient.full_name}",
    )


def _tell_reception(session: Session, template: str, *, key: str) -> None:
    receptionists = get_user_model().objects.filter(groups__name=RECEPTION, is_active=True)
    context = appointment_context(session.appointment)
    for user in receptionists:
        queue_message(
            key=f"{key}:user:{user.pk}",
            template=template,
            channel=Channel.IN_APP,
            user=user,
            session=session,
            appointment=session.appointment,
            context=context,
            link=reverse("scheduling:detail", args=[session.appointment_id]),
        )
