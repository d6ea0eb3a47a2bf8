"""Twilio's webhooks: delivery status callbacks for the SMS we send, and the SMS
patients send us. Both accept only requests signed with the account's auth token.

Twilio is the only caller, but anyone can reach these URLs: a request that is not
signed changes nothing, and no field, however odd, is allowed to cause a 500.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from twilio.twiml.messaging_response import MessagingResponse

from . import services
from .inbound import handle_reply

logger = logging.getLogger(__name__)

# Twilio's ids are letters and digits ("SM" and 32 hex digits for a message).
SID = re.compile(r"[A-Za-z0-9]{1,64}")
ERROR_CODE = re.compile(r"[0-9]{1,10}")
# Our own id of the message, in the status callback's URL (as clinic.converters).
ID = re.compile(r"[0-9]{1,18}")
# A phone number in E.164, as Twilio writes To and From.
PHONE = re.compile(r"\+[0-9]{6,15}")


def signed_by_twilio(request: HttpRequest) -> bool:
    """Whether Twilio signed this request, over the URL it called and the form."""
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not settings.TWILIO_AUTH_TOKEN or not signature:
        return False
    # Behind a proxy Twilio signs the public URL, not the one Django sees.
    if settings.PUBLIC_BASE_URL:
        url = settings.PUBLIC_BASE_URL + request.get_full_path()
    else:
        url = request.build_absolute_uri()
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    return validator.validate(url, request.POST, signature, algorithm=algorithm)


def twilio_webhook(view: Callable[[HttpRequest], HttpResponse]) -> Callable:
    """A view Twilio calls: POST only, no login or CSRF token, and a valid
    signature, or 403."""

    @csrf_exempt
    @login_not_required
    @require_POST
    @wraps(view)
    def checked(request: HttpRequest) -> HttpResponse:
        if not signed_by_twilio(request):
            logger.warning("Refused an unsigned Twilio webhook at %s", request.path)
            return HttpResponseForbidden()
        return view(request)

    return checked


@twilio_webhook
def status_callback(request: HttpRequest) -> HttpResponse:
    sid = _field(request, "MessageSid", SID)
    # No sid, no message: an empty one would match every row sent without one.
    if sid:
        notification_id = request.GET.get("n", "")
        services.record_delivery_status(
            provider_message_id=sid,
            provider_status=_field(request, "MessageStatus").lower(),
            error_code=_field(request, "ErrorCode", ERROR_CODE),
            notification_id=int(notification_id) if ID.fullmatch(notification_id) else None,
            address=_field(request, "To", PHONE),
        )
    return HttpResponse(status=204)


@twilio_webhook
def inbound_message(request: HttpRequest) -> HttpResponse:
    reply = handle_reply(
        from_number=_field(request, "From"),
        body=_field(request, "Body"),
        message_sid=_field(request, "MessageSid", SID),
    )
    twiml = MessagingResponse()
    if reply:
        twiml.message(reply)
    return HttpResponse(str(twiml), content_type="text/xml")


def _field(request: HttpRequest, name: str, pattern: re.Pattern | None = None) -> str:
    """A form field as text ("" when missing or not matching `pattern`), without the
    NUL characters that PostgreSQL refuses in text."""
    value = request.POST.get(name, "").replace("\x00", "").strip()
    if pattern is not None and not pattern.fullmatch(value):
        return ""
    return value
