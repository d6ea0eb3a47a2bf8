"""Stripe's webhook: each event, once its signature is checked, is stored once (by
its id) and handed to the worker; the answer goes back at once, so Stripe never
times out and resends. See payments/events.py for what the events change.

Anyone can reach this URL: a request Stripe did not sign, or signed too long ago
(a replay) or too far in the future (a signature made ahead of time, or a clock
gone wrong), is refused with 400 and stores nothing.
"""

from __future__ import annotations

import logging
import re

import stripe
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from clinic.kernel.tasks import queue_with_the_change

from .models import StripeEvent
from .tasks import PROCESS_EVENT_TASK

logger = logging.getLogger(__name__)

EVENT_ID = re.compile(r"evt_[A-Za-z0-9_]{1,250}")
EVENT_TYPE = re.compile(r"[a-z0-9_.]{1,100}")


@csrf_exempt
@login_not_required
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    event = verified_event(request)
    if event is None:
        return HttpResponseBadRequest()
    with transaction.atomic():
        stored, created = StripeEvent.objects.get_or_create(
            event_id=event.id,
            defaults={"type": event.type, "payload": request.body.decode()},
        )
        if created:
            enqueue(stored.pk)
    return HttpResponse(status=200)


def verified_event(request: HttpRequest) -> stripe.Event | None:
    """The event Stripe signed, or None (logged) for anything else."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        logger.warning("Refused a Stripe webhook: STRIPE_WEBHOOK_SECRET is not set")
        return None
    try:
        event = stripe.Webhook.construct_event(
            request.body,
            request.headers.get("Stripe-Signature", ""),
            secret,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE,
        )
    except stripe.SignatureVerificationError as error:
        logger.warning("Refused a Stripe webhook: %s", error)
        return None
    except (ValueError, AttributeError):
        # Not UTF-8, not JSON, or JSON but not an object (a list has no .get).
        logger.warning("Refused a signed Stripe webhook that is not a JSON object")
        return None
    if signed_in_the_future(request.headers["Stripe-Signature"]):
        logger.warning("Refused a Stripe webhook signed in the future")
        return None
    event_id, event_type = str(getattr(event, "id", "")), str(getattr(event, "type", ""))
    if not (EVENT_ID.fullmatch(event_id) and EVENT_TYPE.fullmatch(event_type)):
        logger.warning("Refused a signed Stripe webhook without an event id and type")
        return None
    return event


def signed_in_the_future(signature: str) -> bool:
    """Whether a verified signature's time is more than STRIPE_WEBHOOK_TOLERANCE
    seconds ahead. The stripe library refuses only signatures that old (0 turns its
    check off, and this one too)."""
    tolerance = settings.STRIPE_WEBHOOK_TOLERANCE
    # Verified, the header has a timestamp, read as the library reads it.
    parts = [item.split("=", 2) for item in signature.split(",")]
    timestamp = int(next(part[1] for part in parts if part[0] == "t"))
    return bool(tolerance) and timestamp > timezone.now().timestamp() + tolerance


def enqueue(event_pk: int) -> None:
    """Hand the stored event to the worker with the transaction that stores it (if
    it cannot be, `process_stripe_event` can be run for it later, and the
    reconciliation settles its payment meanwhile)."""
    queue_with_the_change(PROCESS_EVENT_TASK, event_pk, task_name=f"stripe event {event_pk}")
