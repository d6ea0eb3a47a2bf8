"""The generated outbox: what a running clinic's would hold, every message of the
last NOTIFICATIONS_RETENTION_DAYS (older finished ones are purged by then) and the
reminders still to go out, each in the state the worker would have left it, with
the keys and bodies the rules give it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse

from bench.generator.context import Context, Progress, Visit
from bench.generator.sizes import BATCH_SIZE
from bench.generator.writing import Writer
from notifications.messages import render_message, when
from notifications.models import Channel, Notification
from notifications.models import Status as MessageStatus
from notifications.timing import outside_quiet_hours
from scheduling.models import Status


class Texts:
    """Message bodies exactly as `render_message` writes them, rendered once per
    template with placeholders and filled in per message (rendering a Django template
    for every one of hundreds of thousands of messages would take minutes)."""

    FIELDS = ("patient_first_name", "patient_name", "doctor", "when", "time")

    def __init__(self) -> None:
        self.skeletons: dict[str, str] = {}
        self.when: dict[datetime, str] = {}

    def body(self, template: str, visit: Visit) -> str:
        skeleton = self.skeletons.get(template)
        if skeleton is None:
            text = render_message(
                template,
                **{name: f"\x00{name}\x00" for name in self.FIELDS},
                payment_url="",
                previous_when="",
            )
            text = text.replace("{", "{{").replace("}", "}}")
            for name in self.FIELDS:
                text = text.replace(f"\x00{name}\x00", f"{{{name}}}")
            skeleton = self.skeletons[template] = text
        moment = self.when.get(visit.starts_at)
        if moment is None:
            moment = self.when[visit.starts_at] = when(visit.starts_at)
        patient = visit.patient
        return skeleton.format(
            patient_first_name=patient.given_name,
            patient_name=f"{patient.given_name} {patient.family_name}",
            doctor=visit.doctor.model.display_name,
            when=moment,
            time=moment.rsplit(" at ", 1)[-1],
        )


def write_notifications(ctx: Context, progress: Progress) -> None:
    """The outbox a running clinic would hold: every message of the last
    NOTIFICATIONS_RETENTION_DAYS (older finished ones are purged by then) and the
    reminders still to go out, with the keys the rules give them."""
    rng = ctx.rng("notifications")
    writer = Writer(ctx)
    texts = Texts()
    cutoff = ctx.now - timedelta(days=settings.NOTIFICATIONS_RETENTION_DAYS)
    recent = [
        visit for visit in ctx.visits if visit.updated_at >= cutoff or visit.starts_at >= ctx.now
    ]
    detail_link = reverse("scheduling:detail", args=[0])[: -len("0/")]
    for number, visit in enumerate(recent, 1):
        for message in _messages_of(ctx, rng, visit, texts, detail_link):
            if message.status == MessageStatus.PENDING or message.updated_at >= cutoff:
                writer.add(message)
        if number % BATCH_SIZE == 0 or number == len(recent):
            progress("notifications (recent appointments)", number, len(recent))
    writer.flush()


def _messages_of(
    ctx: Context, rng: random.Random, visit: Visit, texts: Texts, detail_link: str
) -> Iterator[Notification]:
    """The messages the rules queued for one appointment, in the order they did."""

    def sms(
        template: str, key: str, send_after: datetime, withdrawn_at: datetime | None = None
    ) -> Notification:
        return _sms(ctx, rng, visit, texts, template, key, send_after, withdrawn_at)

    yield sms("appointment_booked", f"booked:{visit.id}", visit.created_at)
    if visit.confirmed_at:
        yield sms("appointment_confirmed", f"confirmed:{visit.id}", visit.confirmed_at)
        for hours in settings.NOTIFICATIONS_REMINDER_HOURS:
            send_after = visit.starts_at - timedelta(hours=hours)
            if send_after <= visit.confirmed_at:
                continue  # too late to remind when it was confirmed
            yield sms(
                "appointment_reminder",
                f"reminder:{visit.id}:{hours}h:{visit.starts_at.isoformat()}",
                send_after,
                # A cancellation or the patient's arrival cancels a reminder not sent.
                withdrawn_at=visit.cancelled_at or visit.arrived_at,
            )
    if visit.status == Status.CANCELLED:
        yield sms("appointment_cancelled", f"cancelled:{visit.id}", visit.cancelled_at)
        yield _doctor_told_of_cancellation(rng, visit, texts, detail_link)
    elif visit.status == Status.NO_SHOW:
        yield sms("appointment_no_show", f"no_show:{visit.id}", visit.no_show_at)
    elif visit.status == Status.COMPLETED:
        yield sms("session_completed", f"session_completed:{visit.session_id}", visit.completed_at)


def _doctor_told_of_cancellation(
    rng: random.Random, visit: Visit, texts: Texts, detail_link: str
) -> Notification:
    """The doctor's in-app message of a cancellation, sent at once, mostly read."""
    patient = visit.patient
    sent_at = visit.cancelled_at + timedelta(seconds=rng.randint(1, 30))
    return Notification(
        user_id=visit.doctor.user_id,
        channel=Channel.IN_APP,
        template="doctor_appointment_cancelled",
        subject=f"{settings.CLINIC_NAME}: {patient.given_name} {patient.family_name}",
        body=texts.body("doctor_appointment_cancelled", visit),
        link=f"{detail_link}{visit.id}/",
        appointment_id=visit.id,
        idempotency_key=f"cancelled:{visit.id}:doctor",
        status=MessageStatus.SENT,
        send_after=visit.cancelled_at,
        next_attempt_at=visit.cancelled_at,
        attempts=1,
        claimed_at=sent_at,
        address=visit.doctor.username,
        sent_at=sent_at,
        read_at=(sent_at + timedelta(hours=rng.randint(1, 30)) if rng.random() < 0.8 else None),
        created_at=visit.cancelled_at,
        updated_at=sent_at,
    )


def _sms(
    ctx: Context,
    rng: random.Random,
    visit: Visit,
    texts: Texts,
    template: str,
    key: str,
    send_after: datetime,
    withdrawn_at: datetime | None,
) -> Notification:
    """One SMS to the patient, in the state the worker would have left it by now."""
    due = outside_quiet_hours(send_after)
    message = Notification(
        patient_id=visit.patient.id,
        channel=Channel.SMS,
        template=template,
        body=texts.body(template, visit),
        appointment_id=visit.id,
        idempotency_key=key,
        send_after=send_after,
        next_attempt_at=due,
        created_at=visit.confirmed_at if template == "appointment_reminder" else send_after,
    )
    if withdrawn_at is not None and withdrawn_at < due:
        message.status = MessageStatus.CANCELLED
        message.updated_at = withdrawn_at
    elif due > ctx.now:
        message.status = MessageStatus.PENDING
        message.updated_at = message.created_at
    else:
        _claim(rng, visit, message, due)
    return message


def _claim(rng: random.Random, visit: Visit, message: Notification, due: datetime) -> None:
    """The worker's turn at a due SMS: skipped when too late or the patient opted out,
    sent otherwise."""
    message.attempts = 1
    message.claimed_at = due + timedelta(seconds=rng.randint(0, 59))
    if message.template == "appointment_reminder" and message.claimed_at >= visit.starts_at:
        # An early appointment's reminder held back by the quiet hours until it began.
        message.status = MessageStatus.SKIPPED
        message.last_error = "The appointment has already started."
        message.updated_at = message.claimed_at
        return
    opted_out = visit.patient.opted_out_at
    if opted_out is not None and opted_out <= message.claimed_at:
        message.status = MessageStatus.SKIPPED
        message.last_error = "The patient has opted out of SMS."
        message.updated_at = message.claimed_at
        return
    message.address = visit.patient.phone
    message.provider_message_id = f"SM{rng.getrandbits(128):032x}"
    message.sent_at = message.claimed_at + timedelta(seconds=1)
    _deliver(rng, message)


def _deliver(rng: random.Random, message: Notification) -> None:
    """Twilio's word on a sent SMS: mostly delivered, some without a receipt, a few failed."""
    r = rng.random()
    if r < 0.93:
        message.status = MessageStatus.DELIVERED
        message.delivered_at = message.sent_at + timedelta(seconds=rng.randint(2, 20))
        message.updated_at = message.delivered_at
    elif r < 0.985:
        message.status = MessageStatus.SENT  # no delivery receipt came back
        message.updated_at = message.sent_at
    else:
        message.status = MessageStatus.FAILED
        message.last_error = "Twilio error 30003: Unreachable destination handset."
        message.updated_at = message.sent_at + timedelta(seconds=rng.randint(5, 60))
