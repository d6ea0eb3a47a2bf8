"""Channels: how a message leaves. Each is a small class behind one interface;
settings.NOTIFICATION_CHANNELS maps a channel name to its class, so adding a channel
is one class and one entry there.

A channel's `send()` returns the provider's message id (or "") once the provider has
accepted the message, and raises `Skipped`, `PermanentFailure` or
`TransientFailure` (notifications.exceptions) when it has not.
"""

from __future__ import annotations

import logging

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.module_loading import import_string
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from .exceptions import PermanentFailure, Skipped, TransientFailure
from .models import Notification

logger = logging.getLogger(__name__)


class BaseChannel:
    #: SMS waits out quiet hours; a staff alert does not.
    respects_quiet_hours = False

    def address(self, notification: Notification) -> str:
        """Where the message goes; raises when the recipient has no such address."""
        raise NotImplementedError

    def send(self, notification: Notification, address: str) -> str:
        raise NotImplementedError


class BaseSMS(BaseChannel):
    respects_quiet_hours = True

    def address(self, notification: Notification) -> str:
        patient = notification.patient
        if patient is None and notification.user_id is None and notification.address:
            return notification.address  # A phone being verified: no patient yet.
        if patient is None:
            raise PermanentFailure("Staff users have no phone number on file.")
        if patient.sms_opt_out:
            raise Skipped("The patient has opted out of SMS.")
        if not patient.phone:
            # The phone is optional: a patient without one gets no text messages,
            # which is their choice, not a failure to retry or alarm about.
            raise Skipped("The patient has no phone number: no text messages.")
        return patient.phone.as_e164


class ConsoleSMS(BaseSMS):
    """Logs the message instead of sending it: for development without Twilio.

    The body (the patient's name, their appointment) is logged only when DEBUG is
    on; a server without Twilio logs which message it was and its length."""

    def send(self, notification: Notification, address: str) -> str:
        if settings.DEBUG:
            logger.info(
                "SMS (console) for notification %s:\n%s", notification.pk, notification.body
            )
        else:
            logger.info(
                "SMS (console) for notification %s: %s characters, not shown without DEBUG",
                notification.pk,
                len(notification.body),
            )
        return ""


# Twilio answers these HTTP statuses when trying again later may work.
TRANSIENT_HTTP_STATUSES = frozenset({408, 409, 429})


class TwilioSMS(BaseSMS):
    """Sends through Twilio's Messages API with the official client."""

    def send(self, notification: Notification, address: str) -> str:
        try:
            message = twilio_client().messages.create(
                to=address, body=notification.body, **sender(notification)
            )
        except TwilioRestException as error:
            reason = f"Twilio error {error.code or error.status}: {error.msg}"
            if error.status in TRANSIENT_HTTP_STATUSES or error.status >= 500:
                raise TransientFailure(reason) from error
            raise PermanentFailure(reason) from error
        except (requests.RequestException, TwilioException) as error:
            raise TransientFailure(f"Twilio could not be reached: {error}") from error
        return message.sid


def sender(notification: Notification) -> dict[str, str]:
    """The From (number or messaging service) and status callback of an SMS. The
    callback names the message (?n=), so a report that arrives before the dispatcher
    has recorded the message's sid still finds it."""
    params = {}
    if settings.TWILIO_MESSAGING_SERVICE_SID:
        params["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
    elif settings.TWILIO_FROM_NUMBER:
        params["from_"] = settings.TWILIO_FROM_NUMBER
    else:
        raise ImproperlyConfigured(
            "Set TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID to send SMS through Twilio."
        )
    if settings.PUBLIC_BASE_URL:
        status_url = settings.PUBLIC_BASE_URL + reverse("twilio:status")
        params["status_callback"] = f"{status_url}?n={notification.pk}"
    return params


def twilio_client() -> Client:
    client = Client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        http_client=TwilioHttpClient(timeout=settings.TWILIO_TIMEOUT_SECONDS),
    )
    if settings.TWILIO_API_BASE_URL:
        client.api.base_url = settings.TWILIO_API_BASE_URL
    return client


class InApp(BaseChannel):
    """Puts the message in a staff user's inbox (the bell in the nav)."""

    def address(self, notification: Notification) -> str:
        if notification.user is None:
            raise PermanentFailure("In-app messages are for staff users only.")
        return notification.user.get_username()

    def send(self, notification: Notification, address: str) -> str:
        return ""  # Marking the row sent is what shows it in the inbox.


class Email(BaseChannel):
    """Sends through Django's email backend (settings.EMAIL_BACKEND)."""

    def address(self, notification: Notification) -> str:
        recipient = notification.patient or notification.user
        if recipient is None or not recipient.email:
            raise PermanentFailure("The recipient has no email address.")
        return recipient.email

    def send(self, notification: Notification, address: str) -> str:
        subject = notification.subject or f"Message from {settings.CLINIC_NAME}"
        try:
            send_mail(subject, notification.body, None, [address])
        except OSError as error:  # SMTP and socket errors.
            raise TransientFailure(
                f"The mail server refused or could not be reached: {error}"
            ) from error
        return ""


def channel_class(name: str) -> type[BaseChannel]:
    try:
        path = settings.NOTIFICATION_CHANNELS[name]
    except KeyError:
        raise ImproperlyConfigured(f"No notification channel {name!r} in settings.") from None
    return import_string(path)


def get_channel(name: str) -> BaseChannel:
    return channel_class(name)()
