"""Patient texts stay within a set number of SMS segments in every language (issue
19): each segment is paid for, and a text that grows past its budget fails here.

Each text is rendered as a real one would be: a long clinic name and patient name,
the longest day and time, a personal link on a real-length domain. Arabic texts are
UCS-2 (67 characters a segment once split), so their budget is larger."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import translation

from clinic.kernel.sms import sms_segments
from notifications.messages import clock, render_message, when
from tests.factories import NotificationFactory

LINK = "https://riverside-clinic.example.org/book/m/AbCdEfGhJk/"
MOMENT = datetime(2026, 12, 30, 16, 45, tzinfo=UTC)  # A Wednesday in December.
CONTEXT = {
    "clinic_name": "Riverside Family Clinic",
    "clinic_phone": "+1 413 555 0100",
    "patient_first_name": "Alexandra",
    "doctor": "Dr Montgomery",
    "code": "482913",
    "manage_url": LINK,
    "offer_url": "https://riverside-clinic.example.org/book/offer/AbCdEfGhJk/",
    "book_url": "https://riverside-clinic.example.org/book/",
    "date_from": "Wed 30 Dec",
    "date_to": "Thu 14 Jan",
}
# Segments a text may take, per language, as they are today: English (GSM-7),
# Spanish (GSM-7 where its words and Django's day names avoid accents: "mié" and
# "está" make a text UCS-2) and Arabic (UCS-2).
BUDGET = {
    "phone_code": {"en": 1, "es": 1, "ar": 2},
    "appointment_booked": {"en": 2, "es": 2, "ar": 4},
    "appointment_confirmed": {"en": 2, "es": 4, "ar": 3},
    "appointment_rescheduled": {"en": 2, "es": 2, "ar": 4},
    "appointment_reminder": {"en": 2, "es": 2, "ar": 4},
    "appointment_cancelled": {"en": 2, "es": 3, "ar": 3},
    "appointment_no_show": {"en": 2, "es": 3, "ar": 3},
    "rebooking_call": {"en": 2, "es": 4, "ar": 4},
    "waitlist_offer": {"en": 2, "es": 2, "ar": 4},
    "waitlist_offer_lapsed": {"en": 2, "es": 3, "ar": 3},
    "waitlist_joined": {"en": 1, "es": 2, "ar": 3},
}


@pytest.mark.parametrize("language", ["en", "es", "ar"])
@pytest.mark.parametrize("template", sorted(BUDGET))
def test_a_patient_text_keeps_to_its_segments(template, language):
    with translation.override(language):
        context = {
            **CONTEXT,
            "when": when(MOMENT),
            "time": clock(MOMENT),
            "previous_when": when(MOMENT),
            "held_until": clock(MOMENT),
        }
        text = render_message(template, **context)

    assert sms_segments(text) <= BUDGET[template][language], text


def test_the_outbox_says_how_many_sms_a_text_takes(reception_client):
    NotificationFactory(channel="sms", body="x" * 200)  # GSM-7: 153 a segment once split.
    NotificationFactory(channel="sms", body="موعدك غدًا")  # UCS-2, one segment.

    page = reception_client.get(reverse("notifications:outbox")).content.decode()

    assert page.count('data-testid="segments"') == 2
    assert "2 SMS" in page
    assert "1 SMS" in page
