"""Replies patients send to the clinic's SMS number (DESIGN.md section 4): STOP and
START for their SMS consent, C or YES to confirm and X or CANCEL to cancel their
next appointment; YES or NO answer a waitlist offer while one is open for the
number. The Twilio webhook (webhooks.py) hands each message to `handle_reply`.

Twilio's own Advanced Opt-Out also treats CANCEL as an opt-out keyword and YES as an
opt-in one, at the carrier level, unless the messaging service is configured
otherwise: a patient who replies CANCEL to cancel an appointment is then blocked by
Twilio from every later SMS, the cancellation notice included. Remove CANCEL from the
service's opt-out keywords (Twilio console) to keep the two meanings apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber, to_python

from clinic.kernel.errors import DomainError
from online.models import WaitlistOffer
from online.waitlist import OfferGone, accept_offer, decline_offer, open_offer_for
from patients.models import Patient
from scheduling.models import Appointment, AppointmentChange, statuses_that_can
from scheduling.services import cancel_appointment, confirm_appointment

from .messages import render_message
from .models import InboundMessage

OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT"})
OPT_IN = frozenset({"START", "UNSTOP"})
CONFIRM = frozenset({"C", "YES"})
CANCEL = frozenset({"X", "CANCEL"})
TAKE_OFFER = frozenset({"YES", "Y"})
PASS_OFFER = frozenset({"NO", "N"})
CANCELLATION_REASON = "Cancelled by the patient by SMS reply."

# One word, with any punctuation, spaces or emoji around it. Written so that the
# match stays linear on a long body (no nested repetition to backtrack through).
KEYWORD = re.compile(r"[\W_]*([^\W_]+)[\W_]*")

FROM_NUMBER_LENGTH = InboundMessage._meta.get_field("from_number").max_length
OUTCOME_LENGTH = InboundMessage._meta.get_field("outcome").max_length


def handle_reply(*, from_number: str, body: str, message_sid: str) -> str | None:
    """Act on an SMS from `from_number` and return the text to answer with, or None
    when there is nothing to say (a confirmation or cancellation notice goes out
    through the outbox instead).

    Every message is recorded. A message whose `message_sid` was seen before (Twilio
    retrying its webhook) changes nothing and gets the first answer; one without a
    sid is acted on every time.
    """
    # One transaction: if acting fails, the claim of the sid is undone with it and
    # Twilio's retry can try again.
    with transaction.atomic():
        try:
            with transaction.atomic():
                message = InboundMessage.objects.create(
                    message_sid=message_sid,
                    from_number=from_number[:FROM_NUMBER_LENGTH],
                    body=body,
                )
        except IntegrityError:
            # Seen before. A concurrent retry waits at the unique index until the
            # first request commits, so the first answer is there to read.
            return InboundMessage.objects.get(message_sid=message_sid).reply or None
        outcome, reply = _act(keyword(body), patients_with_number(from_number))
        message.outcome = outcome[:OUTCOME_LENGTH]
        message.reply = render_message(f"reply_{reply}") if reply else ""
        message.save(update_fields=["outcome", "reply"])
    return message.reply or None


def keyword(body: str) -> str:
    """The command a reply stands for: " Stop! ", "c." and a full-width "YES" read
    STOP, C and YES; more than one word is no command ("")."""
    match = KEYWORD.fullmatch(unicodedata.normalize("NFKC", body).upper())
    return match.group(1) if match else ""


def patients_with_number(from_number: str) -> list[Patient]:
    """Every patient with this phone number: a family may share one (a patient
    merged into another is that other one)."""
    number = to_python(from_number)
    if not isinstance(number, PhoneNumber) or not number.is_valid():
        return []
    return list(
        Patient.objects.filter(phone=number.as_e164, merged_into__isnull=True).order_by("pk")
    )


def _act(word: str, patients: list[Patient]) -> tuple[str, str | None]:
    """Do what `word` asks for `patients`; returns the outcome to record and the
    key of the reply (reply_<key>.txt), if any."""
    # Consent belongs to the number: STOP and START are acknowledged even when no
    # patient has it, as carriers expect.
    if word in OPT_OUT or word in OPT_IN:
        opted_out = word in OPT_OUT
        for patient in patients:
            patient.set_sms_opt_out(opted_out)
            patient.save(update_fields=["sms_opted_out_at", "updated_at"])
        verb = "Opted out" if opted_out else "Opted in"
        return f"{verb} {len(patients)} patient(s).", "stopped" if opted_out else "started"
    if not patients:
        return "No patient has this number.", "unknown_number"
    try:
        # A waitlist offer open for this number is what YES or NO answers: it was
        # the last text, and it lapses within minutes.
        if word in TAKE_OFFER | PASS_OFFER and (offer := open_offer_for(patients)):
            return _answer_offer(offer, take=word in TAKE_OFFER)
        if word in CONFIRM:
            return _confirm_next(patients)
        if word in CANCEL:
            return _cancel_next(patients)
    except DomainError as error:
        # The appointment changed meanwhile (cancelled at the desk, say): the
        # patient gets a call-us text; the reason is kept for the staff.
        return f"Not done: {error.message}", "not_done"
    return "Not a command; sent the help text.", "help"


def _answer_offer(offer: WaitlistOffer, *, take: bool) -> tuple[str, str | None]:
    try:
        if take:
            appointment = accept_offer(offer=offer, via=AppointmentChange.Via.SMS)
            # The patient is texted the booking, with its link, by the outbox.
            return f"Took waitlist offer {offer.pk}: appointment {appointment.pk}.", None
        decline_offer(offer=offer)
    except OfferGone:
        return f"Waitlist offer {offer.pk} was no longer open.", "offer_gone"
    return f"Passed on waitlist offer {offer.pk}.", "offer_declined"


def _confirm_next(patients: list[Patient]) -> tuple[str, str | None]:
    # Whatever the lifecycle lets be confirmed (scheduling owns the steps): not an
    # arrived one, which only undoing its check-in takes back to confirmed.
    statuses = statuses_that_can("confirm")
    if _shared_by_several(patients, statuses):
        return "Several patients on this number have appointments.", "several_patients"
    appointment = _next_appointment(patients, statuses)
    if appointment is None:
        return "No booked appointment to confirm.", "nothing_to_confirm"
    confirm_appointment(appointment=appointment, by=None, via=AppointmentChange.Via.SMS)
    return f"Confirmed appointment {appointment.pk}.", None


def _cancel_next(patients: list[Patient]) -> tuple[str, str | None]:
    statuses = statuses_that_can("cancel")
    if _shared_by_several(patients, statuses):
        return "Several patients on this number have appointments.", "several_patients"
    appointment = _next_appointment(patients, statuses)
    if appointment is None:
        return "No upcoming appointment to cancel.", "nothing_to_cancel"
    cancel_appointment(
        appointment=appointment, reason=CANCELLATION_REASON, by=None, via=AppointmentChange.Via.SMS
    )
    return f"Cancelled appointment {appointment.pk}.", None


def _upcoming(patients: list[Patient], statuses: Collection[str]) -> QuerySet[Appointment]:
    return Appointment.objects.filter(
        patient__in=patients, status__in=statuses, starts_at__gt=timezone.now()
    )


def _shared_by_several(patients: list[Patient], statuses: Collection[str]) -> bool:
    """A family on one number, more than one of them with an appointment to come:
    a one-letter reply cannot say whose, so nothing is guessed."""
    return _upcoming(patients, statuses).values("patient").distinct().count() > 1


def _next_appointment(patients: list[Patient], statuses: Collection[str]) -> Appointment | None:
    """The soonest appointment still to come of any of `patients`."""
    return _upcoming(patients, statuses).order_by("starts_at", "pk").first()
