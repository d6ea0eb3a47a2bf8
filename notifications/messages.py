"""Message texts. Each message is a Django template in templates/notifications/
messages/, named by its key, so a manager can read every text in one place.

Patient SMS templates get only what a stranger reading the phone may see: the
clinic, the doctor, the date and time. Never the service, notes or anything clinical.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from functools import cache
from typing import cast

from django.conf import settings
from django.template import Context, Engine
from django.utils import timezone, translation
from django.utils.dateformat import format as date_format
from django.utils.dateformat import time_format
from django.utils.translation import gettext

from clinic.kernel.dates import clinic_zone
from patients.models import Patient
from scheduling.models import Appointment


def render_message(template: str, **context) -> str:
    """The text of message `template`, with times shown in the clinic's zone."""
    context = {
        "clinic_name": settings.CLINIC_NAME,
        "clinic_phone": settings.CLINIC_PHONE,
        **context,
    }
    # The caller chooses the language (in_language_of): a patient's, for their texts.
    with timezone.override(clinic_zone()):
        text = (
            _engine()
            .get_template(f"notifications/messages/{template}.txt")
            .render(Context(context, autoescape=False))
        )
    # Templates may wrap lines for reading; a message is one paragraph per blank line.
    paragraphs = text.strip().split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


@cache
def _engine() -> Engine:
    """The project's templates, rendered without HTML escaping (the Context above
    says so too): a text message is not HTML, and "D'Arcy & Co" must reach the
    phone as typed, not as D&#x27;Arcy &amp; Co. A text may mark its words for
    translation ({% load i18n %})."""
    dirs = [str(folder) for folder in cast(list, settings.TEMPLATES[0]["DIRS"])]
    return Engine(
        dirs=dirs,
        app_dirs=True,
        autoescape=False,
        libraries={"i18n": "django.templatetags.i18n"},
    )


def appointment_context(appointment: Appointment) -> dict:
    """What a message may say about an appointment (nothing clinical)."""
    return {
        "patient_first_name": appointment.patient.given_name,
        "patient_name": appointment.patient.full_name,
        "doctor": appointment.doctor.display_name,
        "when": when(appointment.starts_at),
        "time": clock(appointment.starts_at),
    }


def when(moment: datetime) -> str:
    """ "Tue 1 Dec at 10:00 AM", in the clinic's zone and the active language."""
    local = moment.astimezone(clinic_zone())
    return gettext("%(day)s at %(time)s") % {
        "day": date_format(local, "D j M"),
        "time": clock(moment),
    }


def in_language_of(patient: Patient | None) -> AbstractContextManager:
    """The patient's preferred language for what is written to them (the clinic's
    own when they have none), whoever at the clinic made the change."""
    language = patient.preferred_language if patient is not None else ""
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    return translation.override(language)


def clock(moment: datetime) -> str:
    """ "10:00 AM", in the clinic's zone."""
    return time_format(moment.astimezone(clinic_zone()), "g:i A")
