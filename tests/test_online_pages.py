"""The public booking site's pages (/book/), through Django's test client: the clinic
and its services, a week of free times, who is booking and the texted code, the
booking, the waitlist, the personal links (manage, offer), and what keeps it safe in
public (no enumeration, the honeypot, rate limits, framing, logs)."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse

from doctors.models import Weekday
from notifications.models import Notification
from online.models import OnlineRules, PhoneCode, WaitlistEntry, WaitlistOffer
from online.services import manage_link
from online.tokens import digest, new_token
from patients.models import Patient
from scheduling.holds import hold_time
from scheduling.models import Appointment, AppointmentChange, OnlineBooking
from scheduling.models import Status as AppointmentStatus
from tests.clock import MONDAY, at
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    PatientFactory,
    ServiceFactory,
    with_working_hours,
)
from tests.test_security import assert_strict_policy, print_settings

# The scene: Friday 27 November 2026, 10:00. Monday is bookable (2 h notice), and
# more than 24 hours ahead (the late-cancel cutoff).
FRIDAY = MONDAY - timedelta(days=3)
NOW = at(FRIDAY, 10)
WEEKDAYS = [Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY]


@pytest.fixture(autouse=True)
def scene_clock(time_machine, settings):
    time_machine.move_to(NOW, tick=False)
    settings.CLINIC_ADDRESS = "12 River Street, Springfield"
    settings.CLINIC_PHONE = "+1 413-555-0100"
    settings.NOTIFICATIONS_QUIET_HOURS = ""
    settings.PUBLIC_BASE_URL = "https://clinic.example.test"
    cache.clear()  # The rate limits' counters.
    yield
    cache.clear()


@pytest.fixture
def consultation(db):
    return ServiceFactory(
        code="consult",
        name="Consultation",
        duration_minutes=30,
        online_booking=OnlineBooking.ANYONE,
        show_price_online=True,
    )


@pytest.fixture
def smith(db):
    doctor = DoctorFactory(given_name="Alan", family_name="Smith", bookable_online=True)
    return with_working_hours(doctor, *WEEKDAYS)


@pytest.fixture
def jones(db):
    doctor = DoctorFactory(given_name="Grace", family_name="Jones", bookable_online=True)
    return with_working_hours(doctor, *WEEKDAYS)


@pytest.fixture
def visitor(db) -> Client:
    return Client()


def time_value(doctor, starts_at: datetime) -> str:
    return f"{doctor.pk}|{int(starts_at.timestamp())}"


DETAILS = {
    "given_name": "Anna",
    "family_name": "Novak",
    "date_of_birth": "1984-03-12",
    "phone": "(202) 555-0161",
    "email": "",
    "website": "",
}
PHONE = "+12025550161"


def choose(client: Client, doctor, starts_at: datetime, code: str = "consult"):
    return client.post(
        reverse("online:service", args=[code]), {"time": time_value(doctor, starts_at)}
    )


def give_details(client: Client, code: str = "consult", **changes):
    return client.post(reverse("online:details", args=[code]), {**DETAILS, **changes})


def texted_code(phone: str = PHONE) -> str:
    message = Notification.objects.filter(template="phone_code", address=phone).latest("pk")
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def enter_code(client: Client, code: str, service: str = "consult"):
    """Type the code on the page the visitor has open (which carries what it books)."""
    page = client.get(reverse("online:verify", args=[service])).content.decode()
    found = re.search(r'name="choice" value="([^"]*)"', page)
    choice = found.group(1) if found else ""
    return client.post(reverse("online:verify", args=[service]), {"code": code, "choice": choice})


def book(client: Client, doctor, starts_at: datetime):
    choose(client, doctor, starts_at)
    give_details(client)
    return enter_code(client, texted_code())


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- The clinic and its services --------------------------------------------------


def test_the_booking_site_shows_the_clinic_and_the_services_offered_online(
    visitor, consultation, smith
):
    OnlineRules.objects.create(opening_hours="Mon–Fri 9:00–17:00", directions="Second floor")
    ServiceFactory(code="xray", name="X-ray", online_booking=OnlineBooking.NO)
    ServiceFactory(
        code="checkup",
        name="Check-up",
        duration_minutes=45,
        price="60.00",
        online_booking=OnlineBooking.EXISTING,
    )

    response = visitor.get(reverse("online:home"))

    page = text_of(response)
    assert response.status_code == 200
    assert "Riverside Clinic" in page
    assert "12 River Street, Springfield" in page
    assert "+1 413-555-0100" in page
    assert "Mon–Fri 9:00–17:00" in page
    assert "Consultation" in page
    assert "30 minutes · 80.00 USD" in page
    assert "Check-up" in page
    assert "45 minutes" in page
    assert "60.00" not in page
    assert "X-ray" not in page


def test_the_booking_site_needs_no_login_and_keeps_the_strict_policy(visitor, consultation):
    response = visitor.get(reverse("online:home"))

    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert "no-cache" in response["Cache-Control"]


# --- A week of free times -----------------------------------------------------------


def test_a_service_shows_a_week_of_free_times_by_day(visitor, consultation, smith):
    response = visitor.get(reverse("online:service", args=["consult"]))

    page = text_of(response)
    assert response.status_code == 200
    # Friday from 12:00 (two hours' notice), then Monday; the weekend, when nobody
    # works, is not listed.
    assert "Friday 27 November" in page
    assert f'value="{time_value(smith, at(FRIDAY, 12))}"' in page
    assert f'value="{time_value(smith, at(FRIDAY, 11, 45))}"' not in page
    assert f'value="{time_value(smith, at(MONDAY, 9))}"' in page
    assert "Saturday 28 November" not in page
    assert "Dr Smith" in page
    assert "Any doctor" in page
    assert reverse("online:waitlist", args=["consult"]) in page


def test_later_pages_by_week_and_earlier_comes_back(visitor, consultation, smith):
    later = visitor.get(reverse("online:service", args=["consult"]), {"from": "2026-12-04"})

    page = text_of(later)
    assert f'value="{time_value(smith, at(MONDAY + timedelta(days=7), 9))}"' in page
    assert f'value="{time_value(smith, at(MONDAY, 9))}"' not in page
    assert "?from=2026-11-27" in page  # Earlier: back to the first bookable day.
    assert "?from=2026-12-11" in page


def test_a_doctor_chosen_shows_only_their_times(visitor, consultation, smith, jones):
    AppointmentFactory(doctor=smith, starts_at=at(MONDAY, 9), service=consultation)

    response = visitor.get(
        reverse("online:service", args=["consult"]), {"doctor": smith.pk, "from": "2026-11-30"}
    )

    page = text_of(response)
    assert f'value="{time_value(smith, at(MONDAY, 9))}"' not in page
    assert f'value="{time_value(smith, at(MONDAY, 9, 30))}"' in page
    assert f"|{int(at(MONDAY, 9).timestamp())}" not in page  # Not Dr Jones's either.
    assert f"&amp;doctor={smith.pk}" in page  # Paging keeps the doctor.


def test_any_doctor_shows_each_time_once(visitor, consultation, smith, jones):
    response = visitor.get(reverse("online:service", args=["consult"]), {"from": "2026-11-30"})

    assert text_of(response).count(f"|{int(at(MONDAY, 9).timestamp())}") == 1


def test_doctors_not_bookable_online_are_not_offered(visitor, consultation, smith):
    hidden = with_working_hours(DoctorFactory(family_name="Hidden"), *WEEKDAYS)

    page = text_of(visitor.get(reverse("online:service", args=["consult"])))

    assert "Dr Hidden" not in page
    assert f'value="{hidden.pk}|' not in page


@pytest.mark.parametrize("raw", ["tomorrow", "1999-01-01", "9999-12-31", "2026-02-30"])
def test_a_strange_from_date_shows_a_week_within_the_bookable_days(
    visitor, consultation, smith, raw
):
    response = visitor.get(reverse("online:service", args=["consult"]), {"from": raw})

    assert response.status_code == 200


def test_an_unknown_doctor_in_the_address_shows_any_doctor_and_says_so(
    visitor, consultation, smith
):
    response = visitor.get(reverse("online:service", args=["consult"]), {"doctor": "nobody"})

    assert response.status_code == 200
    assert "We could not find that doctor" in text_of(response)


@pytest.mark.parametrize("code", ["nothing", "xray"])
def test_an_unknown_service_or_one_not_online_is_a_friendly_404(visitor, code, smith):
    ServiceFactory(code="xray", name="X-ray", online_booking=OnlineBooking.NO)

    for name in ["service", "waitlist", "details", "verify", "booked", "joined"]:
        response = visitor.get(reverse(f"online:{name}", args=[code]))
        assert response.status_code == 404, name
        assert "This service cannot be booked online." in text_of(response)


def test_choosing_a_time_keeps_it_in_the_session_and_asks_who_is_booking(
    visitor, consultation, smith
):
    response = choose(visitor, smith, at(MONDAY, 10))

    assert response.status_code == 302
    assert response["Location"] == reverse("online:details", args=["consult"])
    page = text_of(visitor.get(response["Location"]))
    assert "Monday 30 November, 10:00 · Dr Smith" in page
    assert "10:00" not in response["Location"]
    assert "Smith" not in response["Location"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Choose one of the times below."),
        ("garbage", "Choose one of the times below."),
        ("1|99999999999999999999", "Choose one of the times below."),
        ("999999|1796000000", "This doctor cannot be booked online."),
    ],
)
def test_a_tampered_time_is_refused_and_nothing_is_kept(
    visitor, consultation, smith, value, message
):
    response = visitor.post(reverse("online:service", args=["consult"]), {"time": value})

    assert response.status_code == 400
    assert message in text_of(response)
    assert visitor.get(reverse("online:details", args=["consult"])).status_code == 400


@pytest.mark.parametrize(
    ("starts_at", "message"),
    [
        (at(FRIDAY, 9), "at least 2 h notice"),  # The past.
        (at(FRIDAY, 11), "at least 2 h notice"),  # Too soon.
        (at(MONDAY + timedelta(days=70), 9), "at most 60 days ahead"),
        (at(MONDAY, 10, 7), "not free any more"),  # Off the grid.
        (at(MONDAY, 20), "not free any more"),  # Outside working hours.
    ],
)
def test_a_time_that_cannot_be_booked_online_is_refused(
    visitor, consultation, smith, starts_at, message
):
    response = choose(visitor, smith, starts_at)

    assert response.status_code == 400
    assert message in text_of(response)


def test_a_time_taken_since_the_page_was_shown_is_refused_at_once(visitor, consultation, smith):
    AppointmentFactory(doctor=smith, starts_at=at(MONDAY, 10), service=consultation)

    response = choose(visitor, smith, at(MONDAY, 10))

    assert response.status_code == 400
    assert "not free any more" in text_of(response)


# --- Who is booking, and the code -----------------------------------------------------


def test_the_details_text_a_code_and_ask_for_it(visitor, consultation, smith):
    choose(visitor, smith, at(MONDAY, 10))

    response = give_details(visitor)

    assert response.status_code == 302
    assert response["Location"] == reverse("online:verify", args=["consult"])
    assert PhoneCode.objects.filter(phone=PHONE).count() == 1
    page = text_of(visitor.get(response["Location"]))
    assert "ending in 61" in page
    assert not Patient.objects.exists()


def test_a_new_patient_books_with_the_code(visitor, consultation, smith):
    response = book(visitor, smith, at(MONDAY, 10))

    assert response.status_code == 302
    assert response["Location"] == reverse("online:booked", args=["consult"])
    appointment = Appointment.objects.get()
    assert (appointment.doctor, appointment.starts_at) == (smith, at(MONDAY, 10))
    assert appointment.status == AppointmentStatus.BOOKED
    patient = appointment.patient
    assert (patient.given_name, patient.family_name, patient.phone.as_e164) == (
        "Anna",
        "Novak",
        PHONE,
    )
    assert patient.registered_online
    assert appointment.changes.get().via == AppointmentChange.Via.ONLINE
    page = text_of(visitor.get(response["Location"]))
    assert "You are booked" in page
    assert "Monday 30 November 2026, 10:00" in page
    assert "Dr Smith" in page
    assert "12 River Street, Springfield" in page
    assert "link to change or cancel" in page
    booked_text = Notification.objects.get(template="appointment_booked")
    assert "https://clinic.example.test/book/m/" in booked_text.body


def test_a_known_patient_books_as_themselves(visitor, consultation, smith):
    anna = PatientFactory(
        given_name="Anna",
        family_name="Novak",
        phone=PHONE,
        date_of_birth=datetime(1984, 3, 12).date(),
    )

    book(visitor, smith, at(MONDAY, 10))

    assert Appointment.objects.get().patient == anna
    assert Patient.objects.count() == 1


def test_the_pages_answer_the_same_for_a_known_and_an_unknown_phone(consultation, smith):
    def walk(client: Client) -> list[tuple[int, str]]:
        choose(client, smith, at(MONDAY, 10))
        details = give_details(client)
        verify = client.get(reverse("online:verify", args=["consult"]))
        page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text_of(verify))
        return [(details.status_code, details["Location"]), (verify.status_code, page)]

    unknown = walk(Client())
    PhoneCode.objects.all().delete()
    PatientFactory(phone=PHONE, date_of_birth=datetime(1984, 3, 12).date())
    known = walk(Client())

    assert known == unknown


def test_an_invalid_phone_is_refused_clearly_and_texts_nothing(visitor, consultation, smith):
    choose(visitor, smith, at(MONDAY, 10))

    response = give_details(visitor, phone="12345")

    assert response.status_code == 400
    assert "not a phone number we can text" in text_of(response)
    assert not PhoneCode.objects.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"given_name": ""}, "This field is required."),
        ({"date_of_birth": "12/03/1984x"}, "Enter your date of birth"),
        ({"date_of_birth": "2030-01-01"}, "cannot be in the future"),
        ({"date_of_birth": "1850-01-01"}, "before 1 January 1900"),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"given_name": "A" * 101}, "at most 100 characters"),
    ],
)
def test_bad_details_are_refused_clearly(visitor, consultation, smith, changes, message):
    choose(visitor, smith, at(MONDAY, 10))

    response = give_details(visitor, **changes)

    assert response.status_code == 400
    assert message in text_of(response)
    assert not PhoneCode.objects.exists()


def test_the_honeypot_answers_as_a_success_and_does_nothing(visitor, consultation, smith):
    choose(visitor, smith, at(MONDAY, 10))
    human = Client()
    choose(human, smith, at(MONDAY, 10))

    robot = give_details(visitor, website="https://spam.example")
    person = give_details(human)

    assert (robot.status_code, robot["Location"]) == (person.status_code, person["Location"])
    assert PhoneCode.objects.count() == 1  # The person's only.
    robot_page = visitor.get(robot["Location"])
    assert "ending in 61" in text_of(robot_page)
    response = enter_code(visitor, texted_code())
    assert "That code is not right" in text_of(response)
    assert not Appointment.objects.exists()
    assert not Patient.objects.exists()


def test_a_wrong_code_is_refused_and_books_nothing(visitor, consultation, smith):
    choose(visitor, smith, at(MONDAY, 10))
    give_details(visitor)

    response = enter_code(visitor, "000000" if texted_code() != "000000" else "111111")

    assert response.status_code == 400
    assert "That code is not right" in text_of(response)
    assert not Appointment.objects.exists()
    assert not Patient.objects.exists()


@pytest.mark.parametrize("typed", ["12345", "abcdef", "1234567"])
def test_a_code_that_is_not_six_digits_is_refused(visitor, consultation, smith, typed):
    choose(visitor, smith, at(MONDAY, 10))
    give_details(visitor)

    response = enter_code(visitor, typed)

    assert response.status_code == 400
    assert "6 digits" in text_of(response)
    assert PhoneCode.objects.get().attempts == 0


def test_an_expired_code_is_refused(visitor, consultation, smith, time_machine):
    choose(visitor, smith, at(MONDAY, 10))
    give_details(visitor)
    code = texted_code()

    time_machine.move_to(NOW + timedelta(minutes=11), tick=False)
    response = enter_code(visitor, code)

    assert "This code has expired" in text_of(response)
    assert not Appointment.objects.exists()


def test_a_new_code_can_be_sent_and_the_old_one_no_longer_works(
    visitor, consultation, smith, time_machine
):
    choose(visitor, smith, at(MONDAY, 10))
    give_details(visitor)
    first = texted_code()
    time_machine.move_to(NOW + timedelta(minutes=1), tick=False)

    response = visitor.post(reverse("online:new_code", args=["consult"]))

    assert response.status_code == 302
    assert "We sent a new code" in text_of(visitor.get(response["Location"]))
    second = texted_code()
    assert PhoneCode.objects.count() == 2
    if first != second:
        assert "not right" in text_of(enter_code(visitor, first))
    assert enter_code(visitor, second)["Location"] == reverse("online:booked", args=["consult"])


def test_a_fourth_code_in_an_hour_is_refused_politely(visitor, consultation, smith, time_machine):
    choose(visitor, smith, at(MONDAY, 10))
    give_details(visitor)
    for minute in (1, 2):
        time_machine.move_to(NOW + timedelta(minutes=minute), tick=False)
        visitor.post(reverse("online:new_code", args=["consult"]))
    time_machine.move_to(NOW + timedelta(minutes=3), tick=False)

    response = visitor.post(reverse("online:new_code", args=["consult"]), follow=True)

    assert "3 codes in the last hour" in text_of(response)
    assert PhoneCode.objects.count() == 3


def test_steps_opened_without_the_ones_before_ask_to_start_again(visitor, consultation, smith):
    for name in ["details", "verify"]:
        response = visitor.get(reverse(f"online:{name}", args=["consult"]))
        assert response.status_code == 400
        assert "Please start again" in text_of(response)
    response = visitor.post(reverse("online:verify", args=["consult"]), {"code": "123456"})
    assert response.status_code == 400
    response = visitor.post(reverse("online:new_code", args=["consult"]))
    assert response.status_code == 400
    response = visitor.post(
        reverse("online:another_time", args=["consult"]),
        {"time": time_value(smith, at(MONDAY, 10))},
    )
    assert response.status_code == 400
    assert not PhoneCode.objects.exists()
    assert visitor.get(reverse("online:booked", args=["consult"])).status_code == 404


def test_a_time_for_another_service_does_not_carry_over(visitor, consultation, smith):
    ServiceFactory(code="checkup", name="Check-up", online_booking=OnlineBooking.ANYONE)
    choose(visitor, smith, at(MONDAY, 10))

    response = visitor.get(reverse("online:details", args=["checkup"]))

    assert response.status_code == 400


# --- Taken meanwhile --------------------------------------------------------------------


def test_a_time_taken_meanwhile_offers_the_nearest_and_books_one_without_a_new_code(
    visitor, consultation, smith
):
    choose(visitor, smith, at(MONDAY, 10))
    give_details(visitor)
    AppointmentFactory(doctor=smith, starts_at=at(MONDAY, 10), service=consultation)

    response = enter_code(visitor, texted_code())

    assert response.status_code == 409
    page = text_of(response)
    assert "just taken" in page
    assert f'value="{time_value(smith, at(MONDAY, 10, 30))}"' in page
    assert not Patient.objects.filter(registered_online=True).exists()  # Nothing kept.

    response = visitor.post(
        reverse("online:another_time", args=["consult"]),
        {"time": time_value(smith, at(MONDAY, 10, 30))},
    )

    assert response["Location"] == reverse("online:booked", args=["consult"])
    assert Appointment.objects.get(patient__registered_online=True).starts_at == at(MONDAY, 10, 30)
    assert PhoneCode.objects.count() == 1


def test_after_the_verification_lapses_another_time_asks_for_a_code(
    visitor, consultation, smith, time_machine, settings
):
    settings.SESSION_COOKIE_AGE = 60 * 60  # The session outlives the verification.
    choose(visitor, smith, at(MONDAY, 10))
    give_details(visitor)
    AppointmentFactory(doctor=smith, starts_at=at(MONDAY, 10), service=consultation)
    enter_code(visitor, texted_code())
    time_machine.move_to(NOW + timedelta(minutes=31), tick=False)

    response = visitor.post(
        reverse("online:another_time", args=["consult"]),
        {"time": time_value(smith, at(MONDAY, 10, 30))},
    )

    assert response["Location"] == reverse("online:verify", args=["consult"])
    assert not Appointment.objects.filter(patient__registered_online=True).exists()


def test_a_tampered_nearest_time_is_refused(visitor, consultation, smith):
    choose(visitor, smith, at(MONDAY, 10))
    give_details(visitor)
    AppointmentFactory(doctor=smith, starts_at=at(MONDAY, 10), service=consultation)
    enter_code(visitor, texted_code())

    response = visitor.post(
        reverse("online:another_time", args=["consult"]),
        {"time": time_value(smith, at(MONDAY, 10, 5))},
    )

    assert response.status_code == 400
    assert "not free any more" in text_of(response)
    assert not Appointment.objects.filter(patient__registered_online=True).exists()


def test_a_refusal_by_the_rules_is_said_and_books_nothing(visitor, consultation, smith):
    OnlineRules.objects.create(new_patients_allowed=False)

    response = book(visitor, smith, at(MONDAY, 10))

    assert response.status_code == 400
    assert "call the clinic to book your first visit" in text_of(response)
    assert not Appointment.objects.exists()
    assert not Patient.objects.exists()


# --- The waitlist ---------------------------------------------------------------------


def test_no_time_suits_joins_the_waitlist_after_the_code(visitor, consultation, smith):
    response = visitor.post(
        reverse("online:waitlist", args=["consult"]),
        {
            "date_from": "2026-11-30",
            "date_to": "2026-12-11",
            "times_of_day": "morning",
            "doctor": smith.pk,
        },
    )
    assert response["Location"] == reverse("online:details", args=["consult"])
    assert "Waitlist: Consultation" in text_of(visitor.get(response["Location"]))
    give_details(visitor)

    response = enter_code(visitor, texted_code())

    assert response["Location"] == reverse("online:joined", args=["consult"])
    entry = WaitlistEntry.objects.get()
    assert (entry.doctor, entry.times_of_day, entry.source) == (
        smith,
        "morning",
        WaitlistEntry.Source.ONLINE,
    )
    assert (str(entry.date_from), str(entry.date_to)) == ("2026-11-30", "2026-12-11")
    page = text_of(visitor.get(response["Location"]))
    assert "You are on the waitlist" in page
    assert "Dr Smith" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"date_to": "2026-11-01"}, "The last date is before the first."),
        ({"date_from": "2026-10-01", "date_to": "2026-10-02"}, "Those dates are past."),
        ({"date_to": "2027-06-01"}, "Wait for at most 90 days"),
        ({"date_to": "2027-02-15"}, "We book online at most 60 days ahead."),
        ({"times_of_day": "night"}, "Select a valid choice."),
        ({"doctor": "999999"}, "Select a valid choice."),
        ({"date_from": "soon"}, "Enter a valid date."),
    ],
)
def test_a_bad_waitlist_wish_is_refused_clearly(visitor, consultation, smith, changes, message):
    wish = {"date_from": "2026-11-30", "date_to": "2026-12-11", "times_of_day": "any"}

    response = visitor.post(reverse("online:waitlist", args=["consult"]), {**wish, **changes})

    assert response.status_code == 400
    assert message in text_of(response)
    assert visitor.get(reverse("online:details", args=["consult"])).status_code == 400


# --- Manage an appointment ------------------------------------------------------------


@pytest.fixture
def booked(consultation, smith):
    """Anna's appointment on Monday at 10:00, booked online, and its personal link."""
    appointment = AppointmentFactory(
        doctor=smith,
        patient=PatientFactory(given_name="Anna", phone=PHONE),
        service=consultation,
        starts_at=at(MONDAY, 10),
    )
    token = manage_link(appointment).rsplit("/", 2)[-2]
    return appointment, token


def test_the_personal_link_shows_the_appointment(visitor, booked):
    OnlineRules.objects.create(directions="Second floor, by the lift")
    _appointment, token = booked

    response = visitor.get(reverse("online:manage", args=[token]))

    page = text_of(response)
    assert response.status_code == 200
    assert "Monday 30 November 2026, 10:00" in page
    assert "Dr Smith" in page
    assert "12 River Street, Springfield" in page
    assert "Second floor, by the lift" in page
    assert "Confirm I will come" in page
    assert reverse("online:cancel", args=[token]) in page
    assert reverse("online:move", args=[token]) in page


def test_the_patient_confirms_from_the_link(visitor, booked):
    appointment, token = booked

    response = visitor.post(
        reverse("online:manage", args=[token]), {"action": "confirm"}, follow=True
    )

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED
    assert "your appointment is confirmed" in text_of(response)
    assert appointment.changes.filter(via=AppointmentChange.Via.ONLINE).exists()
    again = visitor.post(reverse("online:manage", args=[token]), {"action": "confirm"})
    assert again.status_code == 302


def test_an_unknown_action_changes_nothing(visitor, booked):
    appointment, token = booked

    response = visitor.post(
        reverse("online:manage", args=[token]), {"action": "delete"}, follow=True
    )

    assert "Choose what to do" in text_of(response)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_the_patient_cancels_after_a_confirmation_step(visitor, booked):
    appointment, token = booked

    step = visitor.get(reverse("online:cancel", args=[token]))
    assert "Yes, cancel it" in text_of(step)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED

    response = visitor.post(reverse("online:cancel", args=[token]), follow=True)

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    page = text_of(response)
    assert "This appointment is cancelled." in page
    assert "Book another appointment" in page


def test_too_late_to_cancel_online_says_to_call(visitor, booked, time_machine):
    appointment, token = booked
    time_machine.move_to(at(MONDAY, 8), tick=False)

    page = text_of(visitor.get(reverse("online:manage", args=[token])))
    assert "too late to change or cancel online" in page
    assert "+1 413-555-0100" in page
    assert reverse("online:cancel", args=[token]) not in page

    response = visitor.post(reverse("online:cancel", args=[token]))

    assert response.status_code == 400
    assert "too late to cancel online" in text_of(response)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_the_patient_moves_to_another_time_with_the_same_doctor(visitor, booked, jones):
    appointment, token = booked

    page = text_of(visitor.get(reverse("online:move", args=[token]), {"from": "2026-11-30"}))
    assert f'value="{time_value(appointment.doctor, at(MONDAY, 11))}"' in page
    assert f'value="{time_value(appointment.doctor, at(MONDAY, 10))}"' not in page  # Now.
    assert f'value="{jones.pk}|' not in page

    response = visitor.post(
        reverse("online:move", args=[token]),
        {"time": time_value(appointment.doctor, at(MONDAY, 11))},
        follow=True,
    )

    appointment.refresh_from_db()
    assert appointment.starts_at == at(MONDAY, 11)
    assert "Your appointment is moved to Monday 30 November 11:00" in text_of(response)


@pytest.mark.parametrize(
    "value",
    ["junk", "{jones}|{monday_11}", "{smith}|{monday_10}", "{smith}|{monday_1107}"],
)
def test_a_move_to_a_tampered_time_changes_nothing(visitor, booked, jones, value):
    appointment, token = booked
    value = value.format(
        jones=jones.pk,
        smith=appointment.doctor.pk,
        monday_10=int(at(MONDAY, 10).timestamp()),
        monday_11=int(at(MONDAY, 11).timestamp()),
        monday_1107=int(at(MONDAY, 11, 7).timestamp()),
    )

    response = visitor.post(reverse("online:move", args=[token]), {"time": value})

    assert response.status_code == 400
    appointment.refresh_from_db()
    assert appointment.starts_at == at(MONDAY, 10)


def test_a_cancelled_appointment_says_so_and_offers_to_book_again(visitor, booked):
    appointment, token = booked
    Appointment.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.CANCELLED)

    page = text_of(visitor.get(reverse("online:manage", args=[token])))
    assert "This appointment is cancelled." in page
    assert reverse("online:home") in page
    assert visitor.post(reverse("online:move", args=[token]), {"time": "x"}).status_code == 200


@pytest.mark.parametrize("name", ["manage", "cancel", "move", "offer"])
def test_an_unknown_token_is_a_friendly_404(visitor, db, name):
    response = visitor.get(reverse(f"online:{name}", args=[new_token()]))

    assert response.status_code == 404
    assert "This link is not valid any more" in text_of(response)
    response = visitor.post(reverse(f"online:{name}", args=["x" * 500]), {"action": "take"})
    assert response.status_code == 404


def test_a_link_of_an_appointment_that_is_over_is_a_friendly_404(visitor, booked, time_machine):
    _appointment, token = booked
    time_machine.move_to(at(MONDAY, 11), tick=False)

    assert visitor.get(reverse("online:manage", args=[token])).status_code == 404


# --- A waitlist offer -----------------------------------------------------------------


@pytest.fixture
def offer(consultation, smith):
    """Anna waits for Monday mornings; 10:00 is held for her until 10:15 today."""
    anna = PatientFactory(given_name="Anna", phone=PHONE)
    entry = WaitlistEntry.objects.create(
        patient=anna,
        service=consultation,
        date_from=MONDAY,
        date_to=MONDAY,
        source=WaitlistEntry.Source.ONLINE,
        status=WaitlistEntry.Status.OFFERED,
    )
    hold = hold_time(
        service=consultation,
        doctor=smith,
        patient=anna,
        starts_at=at(MONDAY, 10),
        ends_at=at(MONDAY, 10, 30),
        until=NOW + timedelta(minutes=15),
    )
    token = new_token()
    offer = WaitlistOffer.objects.create(
        entry=entry,
        hold=hold,
        token_hash=digest(token, purpose="offer"),
        expires_at=NOW + timedelta(minutes=15),
    )
    return offer, token


def test_an_offer_shows_the_time_held_and_is_taken(visitor, offer):
    current, token = offer

    page = text_of(visitor.get(reverse("online:offer", args=[token])))
    assert "A time has come free" in page
    assert "Monday 30 November 2026, 10:00" in page
    assert "Dr Smith" in page
    assert "held for you until 10:15" in page

    response = visitor.post(reverse("online:offer", args=[token]), {"action": "take"}, follow=True)

    current.refresh_from_db()
    assert current.status == WaitlistOffer.Status.ACCEPTED
    assert Appointment.objects.get(pk=current.hold_id).status == AppointmentStatus.BOOKED
    page = text_of(response)
    assert "You are booked" in page
    assert "Monday 30 November 2026, 10:00" in page


def test_an_offer_passed_on_keeps_the_patient_waiting(visitor, offer):
    current, token = offer

    response = visitor.post(reverse("online:offer", args=[token]), {"action": "pass"}, follow=True)

    current.refresh_from_db()
    assert current.status == WaitlistOffer.Status.DECLINED
    assert "You are still on the waitlist" in text_of(response)
    again = visitor.post(reverse("online:offer", args=[token]), {"action": "take"}, follow=True)
    assert "already been answered" not in text_of(again)  # A taken answer: no longer held.
    assert "no longer held for you" in text_of(again)


def test_a_lapsed_offer_is_said_kindly(visitor, offer, time_machine):
    current, token = offer
    time_machine.move_to(NOW + timedelta(minutes=16), tick=False)

    page = text_of(visitor.get(reverse("online:offer", args=[token])))
    assert "This offer has ended" in page

    response = visitor.post(reverse("online:offer", args=[token]), {"action": "take"}, follow=True)

    assert "this offer has lapsed" in text_of(response)
    current.refresh_from_db()
    assert current.status == WaitlistOffer.Status.EXPIRED


# --- Safe in public -------------------------------------------------------------------


def test_too_many_requests_from_one_address_answer_429(visitor, consultation, settings):
    settings.ONLINE_RATE_LIMITS = {**settings.ONLINE_RATE_LIMITS, "pages": "3/m"}

    answers = [visitor.get(reverse("online:home")).status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    response = visitor.get(reverse("online:service", args=["consult"]))
    assert response.status_code == 429
    assert "Too many requests" in text_of(response)
    other = Client(REMOTE_ADDR="203.0.113.9")
    assert other.get(reverse("online:home")).status_code == 200


def test_too_many_codes_for_one_phone_answer_429_from_any_address(
    consultation, smith, settings, time_machine
):
    settings.ONLINE_RATE_LIMITS = {**settings.ONLINE_RATE_LIMITS, "codes_per_phone": "2/h"}
    answers = []
    for n in range(3):
        client = Client(REMOTE_ADDR=f"203.0.113.{n + 1}")
        choose(client, smith, at(MONDAY, 10))
        time_machine.move_to(NOW + timedelta(minutes=n), tick=False)
        answers.append(give_details(client).status_code)

    assert answers == [302, 302, 429]
    assert PhoneCode.objects.count() == 2


def test_too_many_code_checks_answer_429(visitor, consultation, smith, settings):
    settings.ONLINE_RATE_LIMITS = {**settings.ONLINE_RATE_LIMITS, "checks_per_phone": "2/h"}
    choose(visitor, smith, at(MONDAY, 10))
    give_details(visitor)

    answers = [enter_code(visitor, "999999").status_code for _ in range(3)]

    assert answers == [400, 400, 429]


def test_the_booking_site_may_be_framed_only_by_the_origins_named(
    visitor, consultation, settings, reception_client
):
    settings.ONLINE_EMBED_ORIGINS = ["https://www.riverside.example"]

    response = visitor.get(reverse("online:home"))

    assert "frame-ancestors https://www.riverside.example" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response
    staff = reception_client.get(reverse("home"))
    assert staff["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in staff["Content-Security-Policy"]


def test_forms_need_the_csrf_token(consultation, smith):
    strict = Client(enforce_csrf_checks=True)

    response = strict.post(
        reverse("online:service", args=["consult"]), {"time": time_value(smith, at(MONDAY, 10))}
    )

    assert response.status_code == 403


def test_logs_carry_no_names_phones_or_tokens(visitor, booked, caplog, smith):
    _appointment, token = booked
    caplog.set_level(logging.INFO)

    choose(visitor, smith, at(MONDAY, 11))
    give_details(visitor)
    enter_code(visitor, texted_code())
    visitor.get(reverse("online:manage", args=[token]))
    visitor.get(reverse("online:offer", args=[new_token()]))

    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "/book/m/[redacted]/" in logged
    for secret in ["Anna", "Novak", "555-0161", "5550161", token, "1984-03-12"]:
        assert secret not in logged, secret


def test_the_service_page_takes_a_bounded_number_of_queries(
    visitor, consultation, smith, jones, django_assert_max_num_queries
):
    for hour in range(9, 17):
        AppointmentFactory(doctor=smith, starts_at=at(MONDAY, hour), service=consultation)

    with django_assert_max_num_queries(15):
        response = visitor.get(reverse("online:service", args=["consult"]))

    assert response.status_code == 200


def test_the_cache_and_the_embedding_origins_come_from_the_environment(tmp_path):
    backend, samesite = print_settings(tmp_path, "CACHES", "SESSION_COOKIE_SAMESITE")
    assert "LocMemCache" in backend
    assert samesite == "'Lax'"

    backend, origins, samesite = print_settings(
        tmp_path,
        "CACHES",
        "ONLINE_EMBED_ORIGINS",
        "CSRF_COOKIE_SAMESITE",
        CACHE_URL="redis://127.0.0.1:6379/1",
        ONLINE_EMBED_ORIGINS="https://www.riverside.example",
    )
    assert "django.core.cache.backends.redis.RedisCache" in backend
    assert "redis://127.0.0.1:6379/1" in backend
    assert origins == "['https://www.riverside.example']"
    assert samesite == "'None'"


def test_a_cache_that_does_not_answer_lets_the_pages_through(visitor, consultation, caplog):
    # Nothing listens on port 1: every count fails at once.
    down = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }

    with override_settings(CACHES=down):
        response = visitor.get(reverse("online:home"))

    assert response.status_code == 200
    assert "Rate limits not counted" in caplog.text


def test_the_booking_pages_carry_the_strict_policy(visitor, offer, smith):
    _offer, offer_token = offer
    manage_token = manage_link(AppointmentFactory(doctor=smith, starts_at=at(MONDAY, 14))).rsplit(
        "/", 2
    )[-2]
    urls = [
        reverse("online:home"),
        reverse("online:service", args=["consult"]),
        reverse("online:waitlist", args=["consult"]),
        reverse("online:manage", args=[manage_token]),
        reverse("online:cancel", args=[manage_token]),
        reverse("online:move", args=[manage_token]),
        reverse("online:offer", args=[offer_token]),
    ]
    for url in urls:
        assert_strict_policy(url, visitor.get(url))


def test_coming_back_to_change_the_phone_keeps_what_was_typed(visitor, consultation, smith):
    choose(visitor, smith, at(MONDAY, 10))
    give_details(visitor)

    page = text_of(visitor.get(reverse("online:details", args=["consult"])))

    assert 'value="Novak"' in page
    assert f'value="{PHONE}"' in page


def test_a_new_patient_whose_time_was_taken_books_another_for_new_patients(
    visitor, consultation, smith
):
    # Nothing of the failed booking is kept: had the new patient been, the service
    # for new patients would now refuse them as known.
    consultation.online_booking = OnlineBooking.NEW
    consultation.save()
    choose(visitor, smith, at(MONDAY, 10))
    give_details(visitor)
    AppointmentFactory(doctor=smith, starts_at=at(MONDAY, 10), service=consultation)
    enter_code(visitor, texted_code())

    response = visitor.post(
        reverse("online:another_time", args=["consult"]),
        {"time": time_value(smith, at(MONDAY, 10, 30))},
    )

    assert response["Location"] == reverse("online:booked", args=["consult"])
    assert Patient.objects.filter(registered_online=True).count() == 1


def test_a_patient_with_enough_online_bookings_is_told_to_call(
    visitor, consultation, smith, time_machine
):
    OnlineRules.objects.create(max_future_bookings=1)
    book(visitor, smith, at(MONDAY, 10))
    # A minute on: the outbox keys a code's text by the phone and the instant.
    time_machine.move_to(NOW + timedelta(minutes=1), tick=False)
    again = Client()
    choose(again, smith, at(MONDAY, 11))
    give_details(again)

    response = enter_code(again, texted_code())

    assert response.status_code == 400
    assert "You already have 1 appointments booked online" in text_of(response)
    assert Appointment.objects.count() == 1


def test_a_page_opened_before_choosing_again_in_another_window_books_nothing(
    visitor, consultation, smith
):
    choose(visitor, smith, at(MONDAY, 10))
    give_details(visitor)
    first_page = visitor.get(reverse("online:verify", args=["consult"])).content.decode()
    old_choice = re.search(r'name="choice" value="([^"]*)"', first_page).group(1)
    choose(visitor, smith, at(MONDAY, 14))  # In another tab.

    response = visitor.post(
        reverse("online:verify", args=["consult"]), {"code": texted_code(), "choice": old_choice}
    )

    assert response.status_code == 302
    assert not Appointment.objects.exists()
    again = visitor.get(response["Location"])
    assert "You changed your choice in another window" in text_of(again)


def test_back_after_booking_shows_the_booking(visitor, consultation, smith):
    choose(visitor, smith, at(MONDAY, 10))
    give_details(visitor)
    enter_code(visitor, texted_code())

    response = visitor.get(reverse("online:verify", args=["consult"]))

    assert response.status_code == 302
    assert response["Location"] == reverse("online:booked", args=["consult"])


def test_a_second_booking_with_the_phone_just_verified_needs_no_new_code(
    visitor, consultation, smith
):
    choose(visitor, smith, at(MONDAY, 10))
    give_details(visitor)
    enter_code(visitor, texted_code())
    choose(visitor, smith, at(MONDAY, 15))

    response = give_details(visitor)

    assert response["Location"] == reverse("online:booked", args=["consult"])
    assert Appointment.objects.count() == 2
    assert PhoneCode.objects.count() == 1


def test_the_personal_link_opens_in_the_patients_language(client, consultation, smith):
    maria = PatientFactory(given_name="María", preferred_language="es")
    appointment = AppointmentFactory(
        patient=maria, doctor=smith, service=consultation, starts_at=at(MONDAY, 10)
    )
    token = manage_link(appointment).rstrip("/").rsplit("/", 1)[1]

    page = client.get(reverse("online:manage", args=[token]))

    assert page.status_code == 200
    assert 'lang="es"' in page.content.decode()


def test_the_clinics_phone_can_be_called_from_every_page(visitor, settings):
    settings.CLINIC_PHONE = "+1 413-555-0100"

    page = visitor.get(reverse("online:home")).content.decode()

    assert page.count('href="tel:+14135550100"') >= 2  # The details and the footer.
