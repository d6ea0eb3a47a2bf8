"""The front desk's pages for issue 16: "Undo check-in" and a booked patient's
"No-show" among the quick actions of the day view's cards and the appointment page,
no "Check in" on another day's card, and the walk-in page (find the patient, pick
the service and a doctor or any, see when and with whom, one click).

The scene: Tuesday 1 December 2026, 10:07:30 in New York. Dr Smith works
09:00-17:00 every day; Anna Smithson is at the desk.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from doctors.models import Weekday
from scheduling.models import Appointment, AppointmentChange, Status
from scheduling.services import check_in
from tests.clock import NEW_YORK
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    PatientFactory,
    ServiceFactory,
    WorkingHoursFactory,
)

HTMX = {"HX-Request": "true"}


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=NEW_YORK)


@pytest.fixture(autouse=True)
def mid_morning(time_machine, settings) -> None:
    time_machine.move_to(at(10, 7) + timedelta(seconds=30), tick=False)
    settings.SESSION_COOKIE_AGE = 24 * 60 * 60  # Tests move the clock on by hours.


def working_every_day(doctor):
    for weekday in Weekday:
        WorkingHoursFactory(doctor=doctor, weekday=weekday, starts=time(9), ends=time(17))
    return doctor


@pytest.fixture
def smith(doctor):
    return working_every_day(doctor)


@pytest.fixture
def anna(db):
    return PatientFactory(given_name="Anna", family_name="Smithson")


@pytest.fixture
def consultation(db):
    return ServiceFactory(code="consult", name="Consultation", duration_minutes=30)


def visit(doctor, starts_at: datetime, status: str, patient=None) -> Appointment:
    return AppointmentFactory(
        doctor=doctor, patient=patient or PatientFactory(), starts_at=starts_at, status=status
    )


def arrived(doctor, patient) -> Appointment:
    """Checked in now for 11:00."""
    appointment = visit(doctor, at(11), Status.CONFIRMED, patient)
    return check_in(appointment=appointment, by=None)


def card_html(client, appointment: Appointment) -> str:
    """The appointment's card as the day view draws it."""
    day = appointment.starts_at.astimezone(NEW_YORK).date().isoformat()
    page = client.get(reverse("scheduling:day"), {"date": day}).content.decode()
    start = page.index(f'id="appointment-{appointment.pk}"')
    return page[start : page.index('<div class="appointment-card', start + 1)]


def action_url(appointment: Appointment, action: str) -> str:
    return reverse("scheduling:action", args=[appointment.pk, action])


# --- Quick actions on the cards and the appointment page ------------------------------


def test_an_arrived_patients_card_offers_to_undo_the_check_in(reception_client, smith, anna):
    appointment = arrived(smith, anna)
    visit(smith, at(16), Status.BOOKED)  # The next card, where this one's markup ends.

    card = card_html(reception_client, appointment)

    assert f'hx-post="{action_url(appointment, "undo-check-in")}"' in card
    assert 'aria-label="Undo check-in of Anna Smithson"' in card
    assert 'hx-confirm="Undo the check-in of Anna Smithson?' in card
    assert ">Undo check-in</button>" in card


def test_undo_check_in_from_a_card_refreshes_the_card(reception_client, smith, anna):
    appointment = arrived(smith, anna)

    response = reception_client.post(action_url(appointment, "undo-check-in"), headers=HTMX)

    content = response.content.decode()
    assert content.lstrip().startswith('<div class="appointment-card status-confirmed"')
    assert ">Check in</button>" in content
    assert "Undo check-in" not in content
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED


def test_undo_check_in_without_javascript_redirects_with_a_message(reception_client, smith, anna):
    appointment = arrived(smith, anna)

    response = reception_client.post(action_url(appointment, "undo-check-in"), follow=True)

    assert "Check-in undone: Anna Smithson with Dr Smith on Tue 01 Dec at 11:00." in (
        response.content.decode()
    )


def test_a_refused_undo_says_why_in_the_card(reception_client, smith, anna):
    appointment = visit(smith, at(10), Status.IN_SESSION, anna)

    response = reception_client.post(action_url(appointment, "undo-check-in"), headers=HTMX)

    assert "The session has started; the check-in can no longer be undone." in (
        response.content.decode()
    )
    appointment.refresh_from_db()
    assert appointment.status == Status.IN_SESSION


def test_a_doctor_cannot_undo_a_check_in(doctor_client, smith, anna):
    appointment = arrived(smith, anna)

    response = doctor_client.post(action_url(appointment, "undo-check-in"))

    assert response.status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == Status.ARRIVED


def test_a_booked_patients_card_offers_no_show_once_the_time_has_passed(
    reception_client, smith, anna, time_machine
):
    appointment = visit(smith, at(10), Status.BOOKED, anna)
    visit(smith, at(16), Status.BOOKED)

    assert ">No-show</button>" in card_html(reception_client, appointment)
    time_machine.move_to(at(9, 59), tick=False)
    assert ">No-show</button>" not in card_html(reception_client, appointment)


def test_tomorrows_card_offers_no_check_in(reception_client, smith, anna):
    appointment = visit(smith, at(9, day=2), Status.CONFIRMED, anna)
    visit(smith, at(16, day=2), Status.BOOKED)

    card = card_html(reception_client, appointment)

    assert ">Check in</button>" not in card
    assert ">Cancel</a>" in card


def test_the_appointment_page_offers_undo_and_shows_both_in_the_history(
    reception_client, receptionist, smith, anna
):
    appointment = visit(smith, at(11), Status.CONFIRMED, anna)
    check_in(appointment=appointment, by=receptionist)
    page = reception_client.get(appointment.get_absolute_url()).content.decode()
    assert f'action="{action_url(appointment, "undo-check-in")}"' in page

    reception_client.post(action_url(appointment, "undo-check-in"))

    page = reception_client.get(appointment.get_absolute_url()).content.decode()
    assert "<strong>Checked in</strong>" in page
    assert "<strong>Check-in undone</strong>" in page
    assert page.count("Rita Owens") >= 2
    assert "Undo check-in" not in page
    assert f'action="{action_url(appointment, "check-in")}"' in page


def test_the_appointment_page_runs_as_many_queries_with_the_undo_button(
    reception_client, smith, anna
):
    def queries(appointment: Appointment) -> int:
        with CaptureQueriesContext(connection) as captured:
            reception_client.get(appointment.get_absolute_url())
        return len(captured)

    reception_client.get(reverse("scheduling:day"))  # The session's first save.
    confirmed = visit(smith, at(12), Status.CONFIRMED)

    assert queries(arrived(smith, anna)) == queries(confirmed)


# --- The walk-in page -------------------------------------------------------------------


def walk_in_page(client, **params):
    return client.get(reverse("scheduling:walk_in"), params)


def test_the_day_view_and_the_patients_page_link_to_the_walk_in_page(reception_client, smith, anna):
    day = reception_client.get(reverse("scheduling:day")).content.decode()
    patient_page = reception_client.get(anna.get_absolute_url()).content.decode()

    assert f'href="{reverse("scheduling:walk_in")}">Walk-in</a>' in day
    assert f'href="{reverse("scheduling:walk_in")}?patient={anna.pk}"' in patient_page


def test_reception_finds_the_patient_on_the_walk_in_page(reception_client, smith, anna):
    response = walk_in_page(reception_client, q="smiths")

    content = response.content.decode()
    assert f'href="?patient={anna.pk}"' in content
    assert "Find or register the patient first." in content
    assert f'href="{reverse("patients:create")}?then=walk-in"' in content


def test_the_walk_in_page_says_when_and_with_whom(reception_client, smith, anna, consultation):
    AppointmentFactory(doctor=smith, starts_at=at(10), status=Status.IN_SESSION)

    response = walk_in_page(reception_client, patient=anna.pk)

    content = response.content.decode()
    assert (
        "<strong>Anna Smithson</strong> will be seen at <strong>10:30</strong> by "
        "<strong>Dr Smith</strong> (Consultation)." in content
    )
    assert "In 23 minutes." in content
    assert ">Book and check in Anna Smithson</button>" in content


def test_changing_the_doctor_asks_again_for_the_offer_only(
    reception_client, smith, anna, consultation
):
    jones = working_every_day(DoctorFactory(family_name="Jones"))

    fragment = reception_client.get(
        reverse("scheduling:walk_in"),
        {"patient": anna.pk, "service": consultation.pk, "doctor": jones.pk},
        headers=HTMX,
    ).content.decode()

    assert fragment.lstrip().startswith('<div id="walk-in-offer"')
    assert "<html" not in fragment
    assert "by <strong>Dr Jones</strong>" in fragment


def test_the_walk_in_page_warns_of_the_patients_appointment_today(
    reception_client, smith, anna, consultation
):
    booked = visit(smith, at(15), Status.CONFIRMED, anna)

    content = walk_in_page(reception_client, patient=anna.pk).content.decode()

    assert "already has an appointment today" in content
    assert f'href="{booked.get_absolute_url()}"' in content


def test_one_click_books_checks_in_and_goes_back_to_the_day(
    reception_client, receptionist, smith, anna, consultation
):
    response = reception_client.post(
        reverse("scheduling:walk_in"),
        {"patient": anna.pk, "service": consultation.pk, "doctor": ""},
        follow=True,
    )

    appointment = Appointment.objects.get(patient=anna)
    assert (appointment.doctor, appointment.starts_at, appointment.status) == (
        smith,
        at(10, 8),
        Status.ARRIVED,
    )
    assert appointment.walk_in
    assert response.redirect_chain[-1][0] == reverse("scheduling:day")
    assert "Walk-in checked in: Anna Smithson with Dr Smith at 10:08." in (
        response.content.decode()
    )
    assert list(appointment.changes.values_list("action", flat=True)) == [
        AppointmentChange.Action.BOOKED_WALK_IN,
        AppointmentChange.Action.CONFIRMED,
        AppointmentChange.Action.CHECKED_IN,
    ]


def test_the_walk_in_is_in_the_doctors_queue_at_once(
    reception_client, doctor_client, smith, anna, consultation
):
    reception_client.post(
        reverse("scheduling:walk_in"),
        {"patient": anna.pk, "service": consultation.pk, "doctor": smith.pk},
    )

    response = doctor_client.get(reverse("scheduling:my_day"))

    assert [appointment.patient for appointment in response.context["arrived"]] == [anna]


def test_nobody_free_today_shows_the_next_free_time_and_books_nothing(
    reception_client, smith, anna, consultation, time_machine
):
    time_machine.move_to(at(16, 45), tick=False)

    page = walk_in_page(reception_client, patient=anna.pk).content.decode()
    response = reception_client.post(
        reverse("scheduling:walk_in"), {"patient": anna.pk, "service": consultation.pk}
    )

    expected = (
        "No doctor is free for Anna Smithson (Consultation) today. "
        "The next free time is Wed 02 Dec at 09:00 with Dr Smith."
    )
    assert expected in page
    assert expected in response.content.decode()
    assert response.status_code == 200
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"patient": "", "service": ""},
        {"patient": "abc", "service": "1"},
        {"patient": "99999999999999999999", "service": "99999999999999999999"},
        {"patient": "1", "service": "1", "doctor": "x" * 500},
    ],
)
def test_garbage_on_the_walk_in_page_is_refused_without_an_error_page(
    reception_client, smith, anna, consultation, data
):
    posted = reception_client.post(reverse("scheduling:walk_in"), data)
    shown = reception_client.get(reverse("scheduling:walk_in"), data)

    assert (posted.status_code, shown.status_code) == (200, 200)
    assert not Appointment.objects.exists()


def test_a_doctor_cannot_open_the_walk_in_page(doctor_client):
    assert doctor_client.get(reverse("scheduling:walk_in")).status_code == 403


def test_a_patient_registered_from_the_walk_in_page_comes_back_chosen(reception_client):
    response = reception_client.post(
        f"{reverse('patients:create')}?then=walk-in",
        {
            "given_name": "Omar",
            "family_name": "Haddad",
            "date_of_birth": "1990-04-02",
            "sex": "male",
            "phone": "(202) 555-0177",
        },
    )

    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('scheduling:walk_in')}?patient=")


def test_the_walk_in_page_runs_a_fixed_number_of_queries(
    reception_client, smith, anna, consultation
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            walk_in_page(reception_client, patient=anna.pk, service=consultation.pk)
        return len(captured)

    walk_in_page(reception_client)  # The session's first save.
    few = queries()
    for weeks_ago in range(1, 27):  # half a year of history, and more doctors
        visit(smith, at(10) - timedelta(weeks=weeks_ago), Status.COMPLETED, anna)
        working_every_day(DoctorFactory())
    visit(smith, at(15), Status.CONFIRMED, anna)

    assert queries() == few
    # The session with its user and permissions, the patient and the service chosen; the
    # search: doctors, their hours, appointments, time off, the patient's
    # appointments; the patient's day; the bell; the count of appointments to
    # rebook; the form's choices: services (twice: Django's select asks for the
    # first one to decide on `required`) and doctors.
    assert few == 14
