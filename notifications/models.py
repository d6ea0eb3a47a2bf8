from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from clinic.kernel.sms import sms_segments
from patients.models import Patient
from scheduling.models import Appointment
from sessions_app.models import Session


class Channel(models.TextChoices):
    """The built-in channels the rules use. A row's channel is any key of
    settings.NOTIFICATION_CHANNELS, so a new channel needs no migration."""

    SMS = "sms", "SMS"
    IN_APP = "in_app", "In-app"
    EMAIL = "email", "Email"


# The booking site's verification code (online.services.request_code).
PHONE_CODE_TEMPLATE = "phone_code"


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


# What staff may do with a message, by its status: the outbox page offers these,
# and the services (retry, cancel, cancel_pending) refuse anything else.
RETRYABLE = frozenset({Status.FAILED})
CANCELLABLE = frozenset({Status.PENDING})


class NotificationQuerySet(models.QuerySet["Notification"]):
    def inbox_of(self, user) -> NotificationQuerySet:
        """The in-app messages `user` can see: those the worker has put in the inbox."""
        return self.filter(
            user=user, channel=Channel.IN_APP, status__in=[Status.SENT, Status.DELIVERED]
        )

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)

    def cancellable(self) -> NotificationQuerySet:
        return self.filter(status__in=CANCELLABLE)


class Notification(models.Model):
    """One message in the outbox: to one patient or one staff user, on one channel.

    Rows are written by the rules (receivers of the domain signals) in the
    transaction of the change, and sent by the dispatch task. `idempotency_key`
    names the event and recipient, so one event never yields the same message twice.
    """

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    channel = models.CharField(max_length=20)
    template = models.CharField(max_length=60, help_text="The message's template key.")
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    link = models.CharField(max_length=300, blank=True, help_text="Page an in-app alert opens.")
    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    idempotency_key = models.CharField(max_length=200, unique=True)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    # When the rule wanted it sent; next_attempt_at is when the worker may take it,
    # later than send_after in quiet hours or after a failed attempt.
    send_after = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    address = models.CharField(
        max_length=254, blank=True, help_text="Where it was sent: phone number or email."
    )
    # A message the recipient is waiting for now (the booking site's code): sent at
    # once, whatever the quiet hours.
    urgent = models.BooleanField(default=False, db_default=False)
    provider_message_id = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-send_after", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(patient__isnull=False, user__isnull=True)
                | Q(patient__isnull=True, user__isnull=False)
                | (Q(patient__isnull=True, user__isnull=True) & ~Q(address="")),
                name="notification_one_recipient",
                violation_error_message=(
                    "A notification goes to a patient, to a staff user, or to a phone number."
                ),
            ),
        ]
        indexes = [
            # The dispatcher's claim: due pending rows, and stale sending ones.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="notification_due",
            ),
            models.Index(
                fields=["claimed_at"], condition=Q(status="sending"), name="notification_sending"
            ),
            models.Index(
                fields=["user", "read_at"],
                condition=Q(channel="in_app"),
                name="notification_inbox",
            ),
            # The manager's reports: texts by day, and the failed ones.
            models.Index(
                fields=["send_after"], condition=Q(channel="sms"), name="notification_sms_by_day"
            ),
            models.Index(
                fields=["send_after"], condition=Q(status="failed"), name="notification_failed"
            ),
            models.Index(
                fields=["provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="notification_provider_id",
            ),
        ]
        permissions = [("manage_outbox", "Can retry or cancel messages in the outbox")]

    def __str__(self) -> str:
        return f"{self.channel_label} {self.template} to {self.recipient_name}"

    @property
    def channel_label(self) -> str:
        return dict(Channel.choices).get(self.channel, self.channel)

    @property
    def recipient_name(self) -> str:
        # The one-recipient constraint: a patient, a staff user, or a bare phone.
        if self.patient is not None:
            return self.patient.full_name
        if self.user is None:
            return gettext("Phone ending %(last_digits)s") % {"last_digits": self.address[-4:]}
        return self.user.get_full_name() or self.user.get_username()

    @property
    def sms_segments(self) -> int | None:
        """How many SMS this text is sent as, in its real encoding (GSM-7 or UCS-2);
        None for a message of another channel."""
        return sms_segments(self.body) if self.channel == Channel.SMS else None

    @property
    def shown_body(self) -> str:
        """The text as staff pages show it: a booking site's code is the patient's
        secret, kept from the outbox's readers."""
        if self.template == PHONE_CODE_TEMPLATE:
            return gettext("A booking site code (hidden)")
        return self.body

    @property
    def can_retry(self) -> bool:
        return self.status in RETRYABLE

    @property
    def can_cancel(self) -> bool:
        return self.status in CANCELLABLE


class InboundMessage(models.Model):
    """An SMS sent to the clinic's number, and what was done about it.

    Twilio sends a webhook again when it got no answer in time. The message's sid is
    unique, so a retry finds the first row and gets the same answer instead of acting
    twice. A message without a sid is still kept, for the record.
    """

    message_sid = models.CharField(max_length=64, blank=True)
    from_number = models.CharField(max_length=64, blank=True)
    body = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=200, blank=True, help_text="What was done.")
    reply = models.TextField(blank=True, help_text="The text answered, if any.")

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["message_sid"],
                condition=~Q(message_sid=""),
                name="inbound_message_sid_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"SMS from {self.from_number or 'an unknown number'}: {self.outcome}"
