"""The booking site's use cases (DESIGN.md section 9, issue 18): the phone code, who
is booking, the online rules, and the patient's personal link.

The scene: Monday 30 November 2026 in New York, 08:00. Dr Smith works Mondays
09:00 to 17:00 and may be booked online; a 30-minute consultation is offered
online to anyone. The rules are the defaults: 2 hours' notice, 60 days ahead, new
patients welcome, 3 future online bookings each, a 24-hour late-cancel cutoff.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from doctors.models import Weekday
from notifications.dispatch import dispatch_due
from notifications.models import Notification
from notifications.models import Status as MessageStatus
from online.models import ManageLink, OnlineRules, PhoneCode, WaitlistEntry
from online.services import (
    OnlineError,
    TimeTaken,
    Visitor,
    appointment_for_link,
    book_online,
    cancel_online,
    confirm_online,
    known_patient,
    manage_link,
    normalised_phone,
    online_services,
    patient_for,
    request_code,
    reschedule_online,
    verify_code,
    week_of_free_times,
)
from online.waitlist import accept_offer, join_waitlist, refill
from patients.models import Patient
from scheduling.models import Appointment, AppointmentChange, OnlineBooking, Status
from scheduling.services import book_appointment
from tests.clock import MONDAY, at
from tests.factories import DoctorFactory, PatientFactory, ServiceFactory, with_working_hours

PHONE = "+12025550123"
NEXT_MONDAY = MONDAY + timedelta(days=7)


@pytest.fixture(autouse=True)
def monday_morning(time_machine) -> None:
    time_machine.move_to(at(MONDAY, 8), tick=False)


@pytest.fixture
def online_smith(smith):
    smith.bookable_online = True
    smith.save()
    return smith


@pytest.fixture
def online_consultation(consultation):
    consultation.online_booking = OnlineBooking.ANYONE
    consultation.save()
    return consultation


@pytest.fixture
def rules(db) -> OnlineRules:
    return OnlineRules.current()


def visitor(**overrides) -> Visitor:
    fields = {
        "given_name": "Ana",
        "family_name": "Lopez",
        "date_of_birth": date(1990, 4, 2),
        "phone": PHONE,
        "email": "",
        **overrides,
    }
    return Visitor(**fields)


def code_texted() -> str:
    """The six digits of the latest code SMS."""
    body = Notification.objects.filter(template="phone_code").order_by("-pk").first().body
    return body.split()[0]


# --- The phone code ------------------------------------------------------------------


def test_a_phone_is_read_in_the_clinics_region():
    assert normalised_phone("(202) 555-0123") == PHONE
    assert normalised_phone("not a phone") == ""
    assert normalised_phone("+1 555") == ""
    # A valid number of another country: no code is texted abroad.
    assert normalised_phone("+44 7700 900123") == ""


def test_the_code_is_texted_at_once_and_kept_only_as_a_hash(db, time_machine):
    time_machine.move_to(at(MONDAY, 23, 30), tick=False)  # Quiet hours.

    request_code(phone=PHONE)

    text = Notification.objects.get(template="phone_code")
    code = code_texted()
    assert len(code) == 6
    assert code.isdigit()
    assert (text.address, text.patient, text.user) == (PHONE, None, None)
    assert text.urgent
    assert text.next_attempt_at == at(MONDAY, 23, 30)
    stored = PhoneCode.objects.get()
    assert code not in stored.code_hash
    assert len(stored.code_hash) == 64


def test_the_right_code_verifies_the_phone_once(db):
    request_code(phone=PHONE)
    code = code_texted()

    verify_code(phone=PHONE, code=code)

    with pytest.raises(OnlineError, match="expired"):
        verify_code(phone=PHONE, code=code)


def test_a_code_is_valid_for_ten_minutes(db, time_machine):
    request_code(phone=PHONE)
    time_machine.move_to(at(MONDAY, 8, 10), tick=False)

    with pytest.raises(OnlineError, match="expired"):
        verify_code(phone=PHONE, code=code_texted())


def test_five_wrong_codes_use_the_code_up(db):
    request_code(phone=PHONE)
    code = code_texted()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        with pytest.raises(OnlineError, match="not right"):
            verify_code(phone=PHONE, code=wrong)
    with pytest.raises(OnlineError, match="Too many"):
        verify_code(phone=PHONE, code=wrong)

    with pytest.raises(OnlineError, match="Too many"):
        verify_code(phone=PHONE, code=code)


def test_only_the_latest_code_counts(db):
    request_code(phone=PHONE)
    first = code_texted()
    request_code(phone=PHONE)
    latest = code_texted()
    if first == latest:
        pytest.skip("the two random codes happen to be the same")

    with pytest.raises(OnlineError):
        verify_code(phone=PHONE, code=first)
    verify_code(phone=PHONE, code=latest)


def test_three_codes_an_hour_for_a_phone(db, time_machine):
    for _ in range(3):
        request_code(phone=PHONE)

    with pytest.raises(OnlineError, match="3 codes in the last hour"):
        request_code(phone=PHONE)
    assert PhoneCode.objects.count() == 3
    request_code(phone="+12025550199")  # Another phone is not held back.

    time_machine.move_to(at(MONDAY, 9, 1), tick=False)
    request_code(phone=PHONE)
    assert PhoneCode.objects.filter(phone=PHONE).count() == 4


# --- Who is booking ------------------------------------------------------------------


def test_a_verified_phone_and_date_of_birth_find_the_patient(db):
    ana = PatientFactory(
        given_name="Ana", family_name="Lopez", phone=PHONE, date_of_birth=date(1990, 4, 2)
    )

    assert known_patient(visitor()) == ana
    assert known_patient(visitor(date_of_birth=date(1990, 4, 3))) is None
    assert known_patient(visitor(phone="+12025550199")) is None


def test_twins_on_one_phone_are_told_apart_by_name(db):
    PatientFactory(
        given_name="Ana", family_name="Lopez", phone=PHONE, date_of_birth=date(1990, 4, 2)
    )
    eva = PatientFactory(
        given_name="Eva", family_name="Lopez", phone=PHONE, date_of_birth=date(1990, 4, 2)
    )

    assert known_patient(visitor(given_name="Eva")) == eva


def test_a_merged_away_patient_is_not_found(db):
    kept = PatientFactory(phone="+12025550177")
    PatientFactory(phone=PHONE, date_of_birth=date(1990, 4, 2), merged_into=kept)

    assert known_patient(visitor()) is None


def test_a_stranger_is_registered_online_for_reception_to_review(online_consultation, rules):
    patient = patient_for(visitor(language="es"), service=online_consultation, rules=rules)

    assert patient.registered_online
    assert (patient.full_name, patient.phone, patient.preferred_language) == (
        "Ana Lopez",
        PHONE,
        "es",
    )


def test_a_known_patient_books_as_themselves(online_consultation, rules):
    ana = PatientFactory(phone=PHONE, date_of_birth=date(1990, 4, 2))

    assert patient_for(visitor(), service=online_consultation, rules=rules) == ana
    assert Patient.objects.count() == 1


def test_new_patients_may_be_kept_off_the_booking_site(online_consultation, rules):
    rules.new_patients_allowed = False

    with pytest.raises(OnlineError, match="call the clinic"):
        patient_for(visitor(), service=online_consultation, rules=rules)
    assert not Patient.objects.exists()


def test_a_new_patient_service_refuses_a_known_patient(online_consultation, rules):
    online_consultation.online_booking = OnlineBooking.NEW
    PatientFactory(phone=PHONE, date_of_birth=date(1990, 4, 2))

    with pytest.raises(OnlineError, match="for new patients"):
        patient_for(visitor(), service=online_consultation, rules=rules)


def test_an_existing_patient_service_refuses_a_stranger(online_consultation, rules):
    online_consultation.online_booking = OnlineBooking.EXISTING

    with pytest.raises(OnlineError, match="already knows"):
        patient_for(visitor(), service=online_consultation, rules=rules)
    assert not Patient.objects.exists()


# --- Free times and booking -----------------------------------------------------------


def test_free_times_keep_the_notice_and_the_doctors_bookable_online(
    online_smith, online_consultation, rules
):
    with_working_hours(DoctorFactory(family_name="Offline"), Weekday.MONDAY)

    slots = week_of_free_times(
        service=online_consultation, doctor=None, first_day=MONDAY, rules=rules
    )

    assert {slot.doctor for slot in slots} == {online_smith}
    assert slots[0].starts_at == at(MONDAY, 10)  # 08:00 plus two hours' notice.


def test_free_times_end_at_the_horizon(online_smith, online_consultation, rules):
    rules.horizon_days = 7

    assert week_of_free_times(
        service=online_consultation, doctor=None, first_day=NEXT_MONDAY, rules=rules
    )
    assert not week_of_free_times(
        service=online_consultation,
        doctor=None,
        first_day=NEXT_MONDAY + timedelta(days=1),
        rules=rules,
    )


def book(patient, starts_at, rules, *, service, doctor):
    return book_online(
        patient=patient, service=service, doctor=doctor, starts_at=starts_at, rules=rules
    )


def test_booking_online_goes_through_the_desks_service(
    online_smith, online_consultation, rules, jane
):
    appointment = book(
        jane, at(MONDAY, 11), rules, service=online_consultation, doctor=online_smith
    )

    assert appointment.status == Status.BOOKED
    change = appointment.changes.get()
    assert (change.action, change.via, change.changed_by) == (
        AppointmentChange.Action.BOOKED,
        AppointmentChange.Via.ONLINE,
        None,
    )


def test_booking_inside_the_notice_is_refused(online_smith, online_consultation, rules, jane):
    with pytest.raises(OnlineError, match="at least 2 h notice"):
        book(jane, at(MONDAY, 9, 30), rules, service=online_consultation, doctor=online_smith)
    assert not Appointment.objects.exists()


def test_booking_past_the_horizon_is_refused(online_smith, online_consultation, rules, jane):
    with pytest.raises(OnlineError, match="at most 60 days ahead"):
        book(
            jane,
            at(MONDAY + timedelta(days=63), 10),
            rules,
            service=online_consultation,
            doctor=online_smith,
        )


def test_a_service_not_offered_online_is_refused(online_smith, consultation, rules, jane):
    with pytest.raises(OnlineError, match="cannot be booked online"):
        book(jane, at(MONDAY, 11), rules, service=consultation, doctor=online_smith)


def test_a_doctor_not_bookable_online_is_refused(smith, online_consultation, rules, jane):
    with pytest.raises(OnlineError, match="doctor cannot be booked online"):
        book(jane, at(MONDAY, 11), rules, service=online_consultation, doctor=smith)


def test_future_online_bookings_are_limited(online_smith, online_consultation, rules, jane):
    rules.max_future_bookings = 2
    book(jane, at(MONDAY, 11), rules, service=online_consultation, doctor=online_smith)
    book(jane, at(NEXT_MONDAY, 11), rules, service=online_consultation, doctor=online_smith)
    # One booked at the desk does not count.
    book_appointment(
        patient=jane,
        doctor=online_smith,
        service=online_consultation,
        starts_at=at(MONDAY, 15),
        booked_by=None,
    )

    with pytest.raises(OnlineError, match="already have 2 appointments booked online"):
        book(jane, at(NEXT_MONDAY, 14), rules, service=online_consultation, doctor=online_smith)


def test_a_time_taken_meanwhile_is_a_friendly_refusal(
    online_smith, online_consultation, rules, jane, bob
):
    book(bob, at(MONDAY, 11), rules, service=online_consultation, doctor=online_smith)

    with pytest.raises(TimeTaken, match="just taken"):
        book(jane, at(MONDAY, 11, 15), rules, service=online_consultation, doctor=online_smith)
    assert Appointment.objects.count() == 1


def test_the_patients_own_clash_is_named_as_theirs(online_smith, online_consultation, rules, jane):
    jones = with_working_hours(
        DoctorFactory(family_name="Jones", bookable_online=True), Weekday.MONDAY
    )
    book(jane, at(MONDAY, 11), rules, service=online_consultation, doctor=online_smith)

    with pytest.raises(OnlineError, match="You already have an appointment at this time"):
        book(jane, at(MONDAY, 11), rules, service=online_consultation, doctor=jones)


# --- The personal link ------------------------------------------------------------------


@pytest.fixture
def booked(online_smith, online_consultation, rules, jane, settings) -> Appointment:
    """Jane's consultation next Monday at 11:00, booked online (her texts carry
    links to the public site)."""
    settings.PUBLIC_BASE_URL = "https://clinic.example.test"
    return book(jane, at(NEXT_MONDAY, 11), rules, service=online_consultation, doctor=online_smith)


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def test_the_link_opens_its_appointment_until_it_is_over(booked, settings, time_machine):
    settings.PUBLIC_BASE_URL = "https://clinic.example.test"
    url = manage_link(booked)

    assert url.startswith("https://clinic.example.test/book/m/")
    token = token_of(url)
    assert len(token) == 10
    assert not ManageLink.objects.filter(token_hash__contains=token).exists()
    assert appointment_for_link(token) == booked
    assert appointment_for_link(token[:-1] + ("a" if token[-1] != "a" else "b")) is None

    time_machine.move_to(at(NEXT_MONDAY, 11, 30), tick=False)
    assert appointment_for_link(token) is None


def test_the_booking_text_carries_the_link(booked, settings):
    text = Notification.objects.get(appointment=booked, template="appointment_booked")

    assert "/book/m/" in text.body
    url = next(word for word in text.body.split() if "/book/m/" in word)
    assert appointment_for_link(token_of(url)) == booked


def test_confirming_by_the_link_is_by_the_patient_online(booked):
    confirm_online(appointment=booked)
    confirm_online(appointment=booked)  # The second tap changes nothing.

    booked.refresh_from_db()
    assert booked.status == Status.CONFIRMED
    confirmed = booked.changes.get(action=AppointmentChange.Action.CONFIRMED)
    assert confirmed.via == AppointmentChange.Via.ONLINE


def test_cancelling_by_the_link_before_the_cutoff(booked, rules):
    cancel_online(appointment=booked, rules=rules)

    booked.refresh_from_db()
    assert booked.status == Status.CANCELLED
    assert (
        booked.changes.get(action=AppointmentChange.Action.CANCELLED).via
        == AppointmentChange.Via.ONLINE
    )


def test_cancelling_after_the_cutoff_asks_for_a_call(booked, rules, settings, time_machine):
    settings.CLINIC_PHONE = "+1 202 555 0100"
    time_machine.move_to(at(NEXT_MONDAY, 8), tick=False)

    with pytest.raises(
        OnlineError, match=r"too late to cancel online\. Please call the clinic on \+1 202 555 0100"
    ):
        cancel_online(appointment=booked, rules=rules)
    booked.refresh_from_db()
    assert booked.status == Status.BOOKED


def test_rescheduling_by_the_link(booked, rules):
    moved = reschedule_online(appointment=booked, starts_at=at(NEXT_MONDAY, 14), rules=rules)

    assert moved.starts_at == at(NEXT_MONDAY, 14)
    assert (
        moved.changes.get(action=AppointmentChange.Action.RESCHEDULED).via
        == AppointmentChange.Via.ONLINE
    )


def test_rescheduling_keeps_the_online_rules(booked, rules, time_machine):
    with pytest.raises(OnlineError, match="notice"):
        reschedule_online(appointment=booked, starts_at=at(MONDAY, 9), rules=rules)
    time_machine.move_to(at(NEXT_MONDAY, 8), tick=False)
    with pytest.raises(OnlineError, match="too late to move"):
        reschedule_online(appointment=booked, starts_at=at(NEXT_MONDAY, 15), rules=rules)
    booked.refresh_from_db()
    assert booked.starts_at == at(NEXT_MONDAY, 11)


def test_rescheduling_onto_a_taken_time_is_a_friendly_refusal(
    booked, rules, bob, online_smith, online_consultation
):
    book(bob, at(NEXT_MONDAY, 14), rules, service=online_consultation, doctor=online_smith)

    with pytest.raises(TimeTaken):
        reschedule_online(appointment=booked, starts_at=at(NEXT_MONDAY, 14), rules=rules)


def test_the_worker_sends_the_code_in_quiet_hours(db, time_machine):
    time_machine.move_to(at(MONDAY, 23, 30), tick=False)
    request_code(phone=PHONE)

    dispatch_due()

    text = Notification.objects.get(template="phone_code")
    assert text.status == MessageStatus.SENT
    assert text.address == PHONE


def test_the_outbox_keeps_the_code_from_staff(db, reception_client):
    request_code(phone=PHONE)

    page = reception_client.get(reverse("notifications:outbox")).content.decode()

    assert "A booking site code (hidden)" in page
    assert code_texted() not in page


def test_a_service_no_online_doctor_offers_is_not_listed(online_smith, online_consultation, jones):
    jones_only = ServiceFactory(code="xray", name="X-ray", online_booking=OnlineBooking.ANYONE)
    jones_only.doctors.set([jones])
    everyone = ServiceFactory(code="vax", name="Vaccination", online_booking=OnlineBooking.ANYONE)
    smith_too = ServiceFactory(code="skin", name="Skin check", online_booking=OnlineBooking.ANYONE)
    smith_too.doctors.set([jones, online_smith])

    assert list(online_services()) == [online_consultation, smith_too, everyone]
    online_smith.bookable_online = False
    online_smith.save()
    assert list(online_services()) == []


def test_a_cancellation_text_points_to_the_booking_site(booked, rules):
    cancel_online(appointment=booked, rules=rules)

    text = Notification.objects.get(appointment=booked, template="appointment_cancelled")
    assert "Book another time at https://clinic.example.test/book/" in text.body


def test_a_patients_texts_come_in_their_language(
    online_smith, online_consultation, rules, settings
):
    settings.PUBLIC_BASE_URL = "https://clinic.example.test"
    maria = PatientFactory(given_name="María", preferred_language="es")

    appointment = book(
        maria, at(NEXT_MONDAY, 11), rules, service=online_consultation, doctor=online_smith
    )

    text = Notification.objects.get(appointment=appointment, template="appointment_booked").body
    assert "María" in text
    assert "a las" in text
    assert " at " not in text


@pytest.mark.parametrize(
    ("language", "words"),
    [("es", "cancelada"), ("ar", "أُلغي موعدك")],
)
def test_a_cancellation_text_comes_in_the_patients_language(
    online_smith, online_consultation, rules, language, words
):
    patient = PatientFactory(preferred_language=language)
    appointment = book(
        patient, at(NEXT_MONDAY, 11), rules, service=online_consultation, doctor=online_smith
    )

    cancel_online(appointment=appointment, rules=rules)

    text = Notification.objects.get(appointment=appointment, template="appointment_cancelled").body
    assert words in text


def test_reminders_come_in_the_patients_language(online_smith, online_consultation, rules):
    patient = PatientFactory(preferred_language="es")
    appointment = book(
        patient, at(NEXT_MONDAY, 11), rules, service=online_consultation, doctor=online_smith
    )

    confirm_online(appointment=appointment)

    reminders = Notification.objects.filter(
        appointment=appointment, template="appointment_reminder"
    )
    assert reminders.count() == 2
    assert all("Recordatorio" in reminder.body for reminder in reminders)


def test_a_time_taken_from_the_waitlist_counts_as_an_online_booking(
    online_smith, online_consultation, rules, jane
):
    rules.max_future_bookings = 1
    join_waitlist(
        patient=jane,
        service=online_consultation,
        doctor=None,
        date_from=NEXT_MONDAY,
        date_to=NEXT_MONDAY,
        source=WaitlistEntry.Source.ONLINE,
    )
    [offer] = refill(
        doctor=online_smith, starts_at=at(NEXT_MONDAY, 10), ends_at=at(NEXT_MONDAY, 10, 30)
    )
    accept_offer(offer=offer, via=AppointmentChange.Via.ONLINE)

    with pytest.raises(OnlineError, match="already have 1 appointments booked online"):
        book(jane, at(NEXT_MONDAY, 14), rules, service=online_consultation, doctor=online_smith)
