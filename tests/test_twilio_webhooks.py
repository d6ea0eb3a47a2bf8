"""Twilio's webhooks (DESIGN.md section 4): delivery status callbacks and the SMS
replies of patients, signed exactly as Twilio signs them.

The scene: Monday 30 November 2026, 08:00 in New York. Dr Smith works 09:00 to 17:00
on Tuesdays and Wednesdays; Jane Doe's phone is +1 212 555 1234.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from doctors.models import Weekday
from notifications.dispatch import _finish as finish
from notifications.models import Channel, InboundMessage, Notification
from notifications.models import Status as MessageStatus
from scheduling import signals
from scheduling.exceptions import InvalidTransition
from scheduling.models import Appointment
from scheduling.models import Status as AppointmentStatus
from scheduling.services import book_appointment
from tests.clock import MONDAY, at
from tests.factories import (
    AppointmentFactory,
    NotificationFactory,
    PatientFactory,
    with_working_hours,
)
from tests.fakes.twilio import AUTH_TOKEN

JANE_PHONE = "+12125551234"
STATUS_URL = "http://testserver/webhooks/twilio/status/"
INBOUND_URL = "http://testserver/webhooks/twilio/inbound/"
SID = "SM" + "a" * 32

SUNDAY = MONDAY - timedelta(days=1)
TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)


@pytest.fixture(autouse=True)
def monday_morning(time_machine) -> None:
    time_machine.move_to(at(MONDAY, 8), tick=False)


@pytest.fixture(autouse=True)
def twilio_account(settings) -> None:
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.PUBLIC_BASE_URL = ""
    settings.CLINIC_NAME = "Riverside Clinic"
    settings.CLINIC_PHONE = "+1 212 555 0100"


@pytest.fixture
def smith(doctor):
    return with_working_hours(doctor, Weekday.TUESDAY, Weekday.WEDNESDAY)


@pytest.fixture
def jane(db):
    return PatientFactory(given_name="Jane", family_name="Doe", phone=JANE_PHONE)


def appointment(patient, doctor, starts_at, status=AppointmentStatus.BOOKED) -> Appointment:
    return AppointmentFactory(patient=patient, doctor=doctor, starts_at=starts_at, status=status)


def twilio_post(client, url: str, params: dict, *, token=AUTH_TOKEN, signed_url=None, **headers):
    """POST `params` as Twilio does: form-encoded, signed over the URL and the form."""
    signature = RequestValidator(token).compute_signature(signed_url or url, params)
    return client.post(
        url,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature, **headers},
    )


def sms(client, body: str, *, from_number: str = JANE_PHONE, sid: str | None = SID):
    params = {"From": from_number, "Body": body, "To": "+15005550006"}
    if sid is not None:
        params["MessageSid"] = sid
    return twilio_post(client, INBOUND_URL, params)


def status_callback(client, sid: str, status: str, **extra):
    return twilio_post(client, STATUS_URL, {"MessageSid": sid, "MessageStatus": status, **extra})


def reply_of(response) -> str:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    return response.content.decode()


NO_REPLY = '<?xml version="1.0" encoding="UTF-8"?><Response />'


# --- Status callbacks ------------------------------------------------------------


@pytest.fixture
def sent_sms(db):
    return NotificationFactory(status=MessageStatus.SENT, provider_message_id=SID)


def test_delivered_callback_marks_the_message_delivered(client, sent_sms):
    response = status_callback(client, SID, "delivered")

    assert response.status_code == 204
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.DELIVERED
    assert sent_sms.delivered_at == at(MONDAY, 8)


def test_undelivered_callback_marks_the_message_failed_with_the_error_code(client, sent_sms):
    response = status_callback(client, SID, "undelivered", ErrorCode="30003")

    assert response.status_code == 204
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.FAILED
    assert "30003" in sent_sms.last_error


def test_late_sent_callback_does_not_undo_delivered(client, sent_sms):
    status_callback(client, SID, "delivered")

    response = status_callback(client, SID, "sent")

    assert response.status_code == 204
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.DELIVERED


def test_callback_for_an_unknown_message_changes_nothing(client, sent_sms):
    response = status_callback(client, "SM" + "b" * 32, "failed", ErrorCode="30005")

    assert response.status_code == 204
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.SENT


def test_callback_without_a_sid_leaves_messages_sent_without_one(client, doctor):
    # In-app and console messages are sent with no provider id at all.
    alert = NotificationFactory(
        patient=None, user=doctor.user, channel=Channel.IN_APP, status=MessageStatus.SENT
    )

    response = twilio_post(client, STATUS_URL, {"MessageStatus": "delivered"})

    assert response.status_code == 204
    alert.refresh_from_db()
    assert alert.status == MessageStatus.SENT


def report_naming(client, notification, status: str, **extra):
    """A status callback as Twilio sends it to the URL the message was sent with."""
    url = f"{STATUS_URL}?n={notification.pk}"
    params = {"MessageSid": SID, "MessageStatus": status, "To": JANE_PHONE, **extra}
    return twilio_post(client, url, params)


@pytest.fixture
def being_sent(db):
    """Twilio has taken the message; the dispatcher has not written that down yet."""
    return NotificationFactory(status=MessageStatus.SENDING, claimed_at=at(MONDAY, 8))


def test_a_report_that_outruns_the_dispatcher_is_the_messages_outcome(client, being_sent):
    response = report_naming(client, being_sent, "delivered")

    assert response.status_code == 204
    being_sent.refresh_from_db()
    assert being_sent.status == MessageStatus.DELIVERED
    assert being_sent.provider_message_id == SID
    assert being_sent.address == JANE_PHONE
    assert being_sent.sent_at == being_sent.delivered_at == at(MONDAY, 8)


def test_a_report_with_an_odd_to_number_records_no_address(client, being_sent):
    response = report_naming(client, being_sent, "delivered", To="x" * 300)

    assert response.status_code == 204
    being_sent.refresh_from_db()
    assert being_sent.status == MessageStatus.DELIVERED
    assert being_sent.address == ""


def test_the_dispatcher_then_leaves_the_reported_outcome_alone(client, being_sent):
    report_naming(client, being_sent, "undelivered", ErrorCode="30003")

    # What deliver() writes once Twilio's answer to the send is back.
    finish(being_sent, MessageStatus.SENT, provider_message_id=SID, last_error="")

    being_sent.refresh_from_db()
    assert being_sent.status == MessageStatus.FAILED
    assert "30003" in being_sent.last_error


@pytest.mark.parametrize("status", [MessageStatus.PENDING, MessageStatus.CANCELLED])
def test_a_report_naming_a_message_not_being_sent_changes_nothing(client, db, status):
    waiting = NotificationFactory(status=status)

    report_naming(client, waiting, "delivered")

    waiting.refresh_from_db()
    assert waiting.status == status
    assert waiting.provider_message_id == ""


# --- Signatures -------------------------------------------------------------------


def forged(client, settings, url: str, params: dict, forgery: str):
    """POST `params` to `url` with the signature spoiled the way `forgery` says."""
    if forgery == "forged":
        return client.post(url, params, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    if forgery == "unsigned":
        return client.post(url, params)
    if forgery == "wrong token":
        return twilio_post(client, url, params, token="another-account-token")
    if forgery == "another url":
        other = STATUS_URL if url == INBOUND_URL else INBOUND_URL
        return twilio_post(client, url, params, signed_url=other)
    settings.TWILIO_AUTH_TOKEN = ""  # no token configured: nothing can be checked
    return twilio_post(client, url, params, token="")


FORGERIES = ["forged", "unsigned", "wrong token", "another url", "no token configured"]


@pytest.mark.parametrize("forgery", FORGERIES)
def test_status_callback_without_a_valid_signature_is_refused(client, settings, sent_sms, forgery):
    params = {"MessageSid": SID, "MessageStatus": "delivered"}

    response = forged(client, settings, STATUS_URL, params, forgery)

    assert response.status_code == 403
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.SENT


@pytest.mark.parametrize("forgery", FORGERIES)
def test_inbound_sms_without_a_valid_signature_is_refused(client, settings, jane, forgery):
    params = {"From": JANE_PHONE, "Body": "STOP", "MessageSid": SID}

    response = forged(client, settings, INBOUND_URL, params, forgery)

    assert response.status_code == 403
    jane.refresh_from_db()
    assert jane.sms_opted_out_at is None
    assert not InboundMessage.objects.exists()


def test_behind_a_proxy_the_signature_over_the_public_url_is_accepted(client, settings, sent_sms):
    settings.PUBLIC_BASE_URL = "https://clinic.example.org"
    params = {"MessageSid": SID, "MessageStatus": "delivered"}

    response = twilio_post(
        client, STATUS_URL, params, signed_url="https://clinic.example.org/webhooks/twilio/status/"
    )

    assert response.status_code == 204
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.DELIVERED


def test_behind_a_proxy_the_signature_over_the_internal_url_is_refused(client, settings, sent_sms):
    settings.PUBLIC_BASE_URL = "https://clinic.example.org"

    response = status_callback(client, SID, "delivered")

    assert response.status_code == 403
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.SENT


SHA256_SETTINGS = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"


def test_signature_with_the_algorithm_named_in_its_settings_header_is_accepted(client, sent_sms):
    params = {"MessageSid": SID, "MessageStatus": "delivered"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        STATUS_URL, params, algorithm="HMAC_SHA256"
    )

    response = client.post(
        STATUS_URL,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={
            "X-Twilio-Signature": signature,
            "X-Twilio-Webhooks-Signature-Settings": SHA256_SETTINGS,
        },
    )

    assert response.status_code == 204
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.DELIVERED


@pytest.mark.parametrize("url", [STATUS_URL, INBOUND_URL])
def test_webhooks_take_only_post(client, url):
    assert client.get(url).status_code == 405


# --- Opting out and in ------------------------------------------------------------


@pytest.mark.parametrize(
    "body", ["STOP", "stop", " Stop! ", "STOPALL", "Unsubscribe", "end", "QUIT."]
)
def test_stop_opts_out_every_patient_with_the_number(client, jane, body):
    son = PatientFactory(given_name="Tom", family_name="Doe", phone=JANE_PHONE)
    neighbour = PatientFactory(phone="+12125559876")

    reply = reply_of(sms(client, body))

    assert "no more text messages" in reply
    assert "START" in reply
    jane.refresh_from_db()
    son.refresh_from_db()
    neighbour.refresh_from_db()
    assert jane.sms_opted_out_at == at(MONDAY, 8)
    assert son.sms_opted_out_at == at(MONDAY, 8)
    assert neighbour.sms_opted_out_at is None


@pytest.mark.parametrize("body", ["START", "unstop"])
def test_start_opts_every_patient_with_the_number_back_in(client, jane, body):
    son = PatientFactory(given_name="Tom", family_name="Doe", phone=JANE_PHONE)
    for patient in (jane, son):
        patient.set_sms_opt_out(True)
        patient.save()

    reply = reply_of(sms(client, body))

    assert "again" in reply
    jane.refresh_from_db()
    son.refresh_from_db()
    assert jane.sms_opted_out_at is None
    assert son.sms_opted_out_at is None


# --- Confirming and cancelling ----------------------------------------------------


@pytest.mark.parametrize("body", ["C", "c", "Yes", "YES!"])
def test_c_confirms_only_the_next_booked_appointment(client, jane, doctor, body):
    appointment(jane, doctor, at(SUNDAY, 10))  # Last week: past, not "next".
    tuesday = appointment(jane, doctor, at(TUESDAY, 10))
    wednesday = appointment(jane, doctor, at(WEDNESDAY, 10))

    reply = reply_of(sms(client, body))

    assert reply == NO_REPLY  # The outbox sends the confirmation SMS.
    tuesday.refresh_from_db()
    wednesday.refresh_from_db()
    assert tuesday.status == AppointmentStatus.CONFIRMED
    assert wednesday.status == AppointmentStatus.BOOKED
    reminders = Notification.objects.filter(appointment=tuesday, template="appointment_reminder")
    assert sorted(reminders.values_list("send_after", flat=True)) == [
        at(MONDAY, 10),
        at(TUESDAY, 8),
    ]


@pytest.mark.parametrize("word", ["C", "X"])
def test_a_family_number_with_several_appointments_changes_nothing_and_asks_to_call(
    client, jane, doctor, word
):
    son = PatientFactory(given_name="Tom", family_name="Doe", phone=JANE_PHONE)
    janes = appointment(jane, doctor, at(WEDNESDAY, 10))
    toms = appointment(son, doctor, at(TUESDAY, 11))

    reply = reply_of(sms(client, word))

    assert "more than one patient with this number" in reply
    for booked in (janes, toms):
        booked.refresh_from_db()
        assert booked.status == AppointmentStatus.BOOKED


def test_a_family_number_with_one_appointment_acts_on_it(client, jane, doctor):
    PatientFactory(given_name="Tom", family_name="Doe", phone=JANE_PHONE)
    janes = appointment(jane, doctor, at(WEDNESDAY, 10))

    sms(client, "C")

    janes.refresh_from_db()
    assert janes.status == AppointmentStatus.CONFIRMED


def test_c_without_a_booked_appointment_says_so(client, jane, doctor):
    appointment(jane, doctor, at(TUESDAY, 10), status=AppointmentStatus.CONFIRMED)

    reply = reply_of(sms(client, "C"))

    assert "no appointment waiting for confirmation" in reply


def test_x_cancels_the_next_appointment_frees_its_time_and_tells_the_doctor(
    client, jane, smith, consultation, receptionist
):
    tuesday = book_appointment(
        patient=jane, doctor=smith, service=consultation, starts_at=at(TUESDAY, 10), booked_by=None
    )
    wednesday = appointment(jane, smith, at(WEDNESDAY, 10), status=AppointmentStatus.CONFIRMED)

    reply = reply_of(sms(client, "X"))

    assert reply == NO_REPLY  # The outbox sends the cancellation SMS.
    tuesday.refresh_from_db()
    wednesday.refresh_from_db()
    assert tuesday.status == AppointmentStatus.CANCELLED
    assert tuesday.cancellation_reason == "Cancelled by the patient by SMS reply."
    assert wednesday.status == AppointmentStatus.CONFIRMED
    assert Notification.objects.filter(
        user=smith.user, channel=Channel.IN_APP, template="doctor_appointment_cancelled"
    ).exists()
    rebooked = book_appointment(
        patient=PatientFactory(),
        doctor=smith,
        service=consultation,
        starts_at=at(TUESDAY, 10),
        booked_by=receptionist,
    )
    assert rebooked.status == AppointmentStatus.BOOKED


def test_cancel_cancels_a_confirmed_appointment(client, jane, doctor):
    tuesday = appointment(jane, doctor, at(TUESDAY, 10), status=AppointmentStatus.CONFIRMED)

    sms(client, "cancel")

    tuesday.refresh_from_db()
    assert tuesday.status == AppointmentStatus.CANCELLED


def test_x_without_an_upcoming_appointment_says_so(client, jane, doctor):
    appointment(jane, doctor, at(SUNDAY, 10))  # Past.
    appointment(jane, doctor, at(TUESDAY, 10), status=AppointmentStatus.CANCELLED)

    reply = reply_of(sms(client, "X"))

    assert "no upcoming appointment to cancel" in reply


def test_a_refused_change_becomes_a_reply_and_changes_nothing(client, jane, doctor):
    tuesday = appointment(jane, doctor, at(TUESDAY, 10))

    def refuse(sender, **kwargs) -> None:
        # Stands for the appointment changing meanwhile at the desk.
        raise InvalidTransition("Only a booked appointment can be confirmed.")

    signals.appointment_confirmed.connect(refuse, weak=False)
    try:
        reply = reply_of(sms(client, "C"))
    finally:
        signals.appointment_confirmed.disconnect(refuse)

    assert "could not change your appointment" in reply
    assert "+1 212 555 0100" in reply
    tuesday.refresh_from_db()
    assert tuesday.status == AppointmentStatus.BOOKED
    assert InboundMessage.objects.get().outcome.startswith("Not done")


# --- Everything else --------------------------------------------------------------


def test_a_number_of_no_patient_gets_a_short_text(client, jane, doctor):
    appointment(jane, doctor, at(TUESDAY, 10))

    reply = reply_of(sms(client, "C", from_number="+12125559876"))

    assert "could not find this phone number" in reply
    assert not Appointment.objects.filter(status=AppointmentStatus.CONFIRMED).exists()


@pytest.mark.parametrize("body", ["hello", "Yes I will come", "", "C X", "?"])
def test_any_other_text_gets_the_help_text(client, jane, body):
    reply = reply_of(sms(client, body))

    assert "reply C to confirm" in reply
    assert "STOP" in reply


def test_a_retried_message_is_handled_once(client, jane, doctor):
    tuesday = appointment(jane, doctor, at(TUESDAY, 10))
    wednesday = appointment(jane, doctor, at(WEDNESDAY, 10))

    first = reply_of(sms(client, "X"))
    again = reply_of(sms(client, "X"))

    assert first == again
    tuesday.refresh_from_db()
    wednesday.refresh_from_db()
    assert tuesday.status == AppointmentStatus.CANCELLED
    assert wednesday.status == AppointmentStatus.BOOKED
    assert InboundMessage.objects.count() == 1


def test_a_retried_message_gets_the_first_answer(client, jane):
    first = reply_of(sms(client, "hello"))
    again = reply_of(sms(client, "hello"))

    assert "reply C to confirm" in first
    assert again == first


def test_a_message_without_a_sid_is_handled_every_time(client, jane, doctor):
    tuesday = appointment(jane, doctor, at(TUESDAY, 10))
    wednesday = appointment(jane, doctor, at(WEDNESDAY, 10))

    sms(client, "X", sid=None)
    sms(client, "X", sid=None)

    tuesday.refresh_from_db()
    wednesday.refresh_from_db()
    assert tuesday.status == wednesday.status == AppointmentStatus.CANCELLED
    assert InboundMessage.objects.count() == 2


def test_every_inbound_message_is_recorded(client, jane):
    sms(client, "STOP")

    message = InboundMessage.objects.get()
    assert (message.message_sid, message.from_number, message.body) == (SID, JANE_PHONE, "STOP")
    assert message.received_at == at(MONDAY, 8)
    assert message.outcome == "Opted out 1 patient(s)."
    assert "no more text messages" in message.reply


ODD_INBOUND = {
    "no fields": {},
    "empty fields": {"From": "", "Body": "", "MessageSid": ""},
    "from not a phone": {"From": "not a phone", "Body": "C", "MessageSid": SID},
    "whatsapp sender": {"From": "whatsapp:+12125551234", "Body": "X", "MessageSid": SID},
    "very long from": {"From": "+1" + "9" * 500, "Body": "STOP", "MessageSid": SID},
    "very long body": {"From": JANE_PHONE, "Body": "C " * 50_000, "MessageSid": SID},
    "long punctuation": {"From": JANE_PHONE, "Body": "!" * 100_000 + "a", "MessageSid": SID},
    "nul characters": {"From": JANE_PHONE + "\x00", "Body": "C\x00", "MessageSid": "SM\x00"},
    "odd unicode": {"From": JANE_PHONE, "Body": "\u202e\u200dＳＴＯＰ 🤷🏽‍♀️ 𝕏", "MessageSid": SID},
    "very long sid": {"From": JANE_PHONE, "Body": "C", "MessageSid": "SM" * 100},
}


@pytest.mark.parametrize("params", ODD_INBOUND.values(), ids=ODD_INBOUND.keys())
def test_odd_inbound_messages_get_an_answer(client, jane, doctor, params):
    appointment(jane, doctor, at(TUESDAY, 10))

    response = twilio_post(client, INBOUND_URL, params)

    assert response.status_code == 200
    assert response.content.startswith(b"<?xml")


ODD_CALLBACKS = {
    "no fields": {},
    "odd status": {"MessageSid": SID, "MessageStatus": "\u202eDELIVERED\x00"},
    "odd error code": {"MessageSid": SID, "MessageStatus": "failed", "ErrorCode": "3\x00; DROP"},
    "nul in sid": {"MessageSid": SID + "\x00", "MessageStatus": "delivered"},
    "very long sid": {"MessageSid": "SM" * 1000, "MessageStatus": "delivered"},
}


@pytest.mark.parametrize("params", ODD_CALLBACKS.values(), ids=ODD_CALLBACKS.keys())
def test_odd_status_callbacks_get_an_answer(client, sent_sms, params):
    response = twilio_post(client, STATUS_URL, params)

    assert response.status_code == 204
