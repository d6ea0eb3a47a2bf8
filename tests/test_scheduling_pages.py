"""Reception's calendar and booking pages and the doctor's day, as people use them."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from django.urls import resolve, reverse

from doctors.models import Weekday
from scheduling.cards import card_of
from scheduling.models import Appointment, AppointmentChange, Status
from scheduling.services import book_appointment, check_in, confirm_appointment
from scheduling.views.appointment import QUICK_ACTIONS
from scheduling.views.cancel import CancelView
from tests.clock import MONDAY, at
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    PatientFactory,
    ServiceFactory,
    WorkingHoursFactory,
    with_working_hours,
)


@pytest.fixture(autouse=True)
def sunday_evening(time_machine, settings):
    """The clinic's clock stands on the Sunday evening before MONDAY. Tests move it
    on by hours, so logins last a day instead of the usual idle timeout."""
    time_machine.move_to(at(MONDAY - timedelta(days=1), 18), tick=False)
    settings.SESSION_COOKIE_AGE = 24 * 60 * 60


@pytest.fixture
def service(db):
    return ServiceFactory()


@pytest.fixture
def working_doctor(doctor):
    return with_working_hours(doctor, Weekday.MONDAY, ends=time(12))


@pytest.fixture
def anna(db):
    return PatientFactory(given_name="Anna", family_name="Smithson")


def book(doctor, patient, service, starts_at) -> Appointment:
    return book_appointment(
        doctor=doctor, patient=patient, service=service, starts_at=starts_at, booked_by=None
    )


# --- Booking page -----------------------------------------------------------------


def test_booking_page_lists_free_times_for_the_chosen_patient(
    reception_client, working_doctor, anna, service
):
    book(working_doctor, PatientFactory(), service, at(MONDAY, 10))

    response = reception_client.get(
        reverse("scheduling:book"),
        {"patient": anna.pk, "service": service.pk, "date": MONDAY.isoformat()},
    )

    slots = response.context["slots"][working_doctor]
    times = [local.strftime("%H:%M") for _, local in slots]
    assert times == ["09:00", "09:15", "09:30", "10:30", "10:45", "11:00", "11:15", "11:30"]
    assert "Anna Smithson" in response.content.decode()


def test_htmx_asks_only_for_the_slots_fragment(reception_client, working_doctor, service):
    response = reception_client.get(
        reverse("scheduling:book"),
        {"service": service.pk, "date": MONDAY.isoformat()},
        headers={"HX-Request": "true"},
    )

    content = response.content.decode()
    assert content.lstrip().startswith('<div id="slots">')
    assert "<html" not in content


def test_receptionist_books_a_free_slot(
    reception_client, receptionist, working_doctor, anna, service
):
    slot = f"{working_doctor.pk}@{at(MONDAY, 9, 30).isoformat()}"

    response = reception_client.post(
        reverse("scheduling:book"),
        {
            "patient": anna.pk,
            "service": service.pk,
            "date": "2026-11-30",
            "slot": slot,
            "reason": "Cough for two weeks",
        },
        follow=True,
    )

    appointment = Appointment.objects.get()
    assert (appointment.patient, appointment.doctor) == (anna, working_doctor)
    assert appointment.starts_at == at(MONDAY, 9, 30)
    assert appointment.ends_at == at(MONDAY, 10)
    assert appointment.reason == "Cough for two weeks"
    assert appointment.created_by == receptionist
    assert response.redirect_chain[-1][0] == reverse("scheduling:detail", args=[appointment.pk])
    assert (
        "Booked: Anna Smithson with Dr Smith on Mon 30 Nov at 09:30." in response.content.decode()
    )


def test_booking_a_taken_time_shows_the_conflict_and_books_nothing(
    reception_client, working_doctor, anna, service
):
    book(working_doctor, PatientFactory(), service, at(MONDAY, 10))

    response = reception_client.post(
        reverse("scheduling:book"),
        {
            "patient": anna.pk,
            "service": service.pk,
            "doctor": working_doctor.pk,
            "date": "2026-11-30",
            "time": "10:15",
        },
    )

    assert response.status_code == 200
    assert "Dr Smith already has an appointment 10:00–10:30 on Mon 30 Nov." in (
        response.content.decode()
    )
    assert Appointment.objects.count() == 1


def test_reception_may_book_a_longer_visit_at_a_typed_time(
    reception_client, working_doctor, anna, service
):
    reception_client.post(
        reverse("scheduling:book"),
        {
            "patient": anna.pk,
            "service": service.pk,
            "doctor": working_doctor.pk,
            "date": "2026-11-30",
            "time": "10:00",
            "duration_minutes": "45",
        },
    )

    assert Appointment.objects.get().ends_at == at(MONDAY, 10, 45)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"time": "10:00"}, "Choose the doctor for a time of your choice."),
        ({}, "Pick a free time, or type a time."),
        ({"slot": "7@yesterday"}, "That time is not one of the offered ones."),
        ({"slot": "abc@2026-11-30T09:00:00"}, "That time is not one of the offered ones."),
        ({"slot": "999999@2026-11-30T09:00:00-05:00"}, "That time is not one of the offered ones."),
    ],
)
def test_incomplete_or_forged_booking_gets_a_clear_error(
    reception_client, working_doctor, anna, service, data, message
):
    response = reception_client.post(
        reverse("scheduling:book"),
        {"patient": anna.pk, "service": service.pk, "date": "2026-11-30", **data},
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Appointment.objects.exists()


def test_garbage_booking_input_never_answers_500(reception_client, working_doctor, service):
    response = reception_client.post(
        reverse("scheduling:book"),
        {
            "patient": "x",
            "service": "999",
            "date": "31/31/2026",
            "doctor": "-1",
            "duration_minutes": "lots",
            "time": "25:99",
        },
    )

    assert response.status_code == 200
    assert not Appointment.objects.exists()


def test_booking_page_finds_the_patient_by_name(reception_client, anna):
    response = reception_client.get(reverse("scheduling:book"), {"q": "smiths"})

    assert list(response.context["matches"]) == [anna]


def test_registering_from_the_booking_page_returns_to_it(reception_client):
    response = reception_client.post(
        f"{reverse('patients:create')}?then=book",
        {
            "given_name": "Noor",
            "family_name": "Aziz",
            "date_of_birth": "1990-01-01",
            "sex": "female",
            "phone": "202-555-0177",
        },
    )

    patient = PatientFactory._meta.model.objects.get(given_name="Noor")
    assert response["Location"] == f"{reverse('scheduling:book')}?patient={patient.pk}"


# --- Day view and quick actions -----------------------------------------------------------


def test_day_view_shows_every_doctor_side_by_side(reception_client, working_doctor, anna, service):
    other = DoctorFactory(family_name="Jones")
    WorkingHoursFactory(doctor=other, weekday=Weekday.MONDAY, starts=time(13), ends=time(17))
    book(working_doctor, anna, service, at(MONDAY, 9, 30))

    response = reception_client.get(reverse("scheduling:day"), {"date": "2026-11-30"})

    columns = response.context["grid"].columns
    assert [str(column.doctor_day.doctor) for column in columns] == ["Dr Jones", "Dr Smith"]
    placed = columns[1].appointments[0]
    assert placed.item.patient_name == "Anna Smithson"
    assert placed.span == 30  # 30 minutes, a row a minute
    assert "Anna Smithson" in response.content.decode()


def test_a_card_shows_the_time_in_the_clinics_zone_and_links_to_the_appointment(
    reception_client, working_doctor, anna, service
):
    appointment = book(working_doctor, anna, service, at(MONDAY, 9, 30))

    response = reception_client.get(reverse("scheduling:day"), {"date": "2026-11-30"})

    page = response.content.decode()
    assert "09:30–10:00" in page  # 14:30–15:00 UTC
    assert f'href="/schedule/appointments/{appointment.pk}/"' in page


@pytest.mark.parametrize("status", [Status.BOOKED, Status.CONFIRMED])
def test_a_cards_links_are_those_of_their_views(working_doctor, service, status, time_machine):
    appointment = AppointmentFactory(
        doctor=working_doctor, service=service, starts_at=at(MONDAY, 9), status=status
    )
    time_machine.move_to(
        at(MONDAY, 9, 30), tick=False
    )  # Started: a confirmed one may be a no-show.

    card = card_of(appointment)

    assert card.url == reverse("scheduling:detail", args=[appointment.pk])
    assert len(card.action_urls) == len(appointment.offered_actions) >= 2
    for action in appointment.offered_actions:
        view = (
            reverse("scheduling:reschedule", args=[appointment.pk])
            if action == "reschedule"
            else reverse("scheduling:action", args=[appointment.pk, action])
        )
        assert card.action_urls[action.replace("-", "_")] == view


def test_day_view_keeps_a_column_for_a_departed_doctors_appointments(
    reception_client, working_doctor, anna, service
):
    departed = DoctorFactory(family_name="Abbott", is_active=False)
    AppointmentFactory(doctor=departed, patient=anna, service=service, starts_at=at(MONDAY, 9))
    gone_that_day = DoctorFactory(family_name="Baker", is_active=False)
    AppointmentFactory(
        doctor=gone_that_day, service=service, starts_at=at(MONDAY + timedelta(days=1), 9)
    )

    response = reception_client.get(reverse("scheduling:day"), {"date": "2026-11-30"})

    columns = response.context["grid"].columns
    assert [str(column.doctor_day.doctor) for column in columns] == ["Dr Abbott", "Dr Smith"]
    assert columns[0].appointments[0].item.patient_name == "Anna Smithson"


def test_day_view_runs_a_fixed_number_of_queries(
    reception_client, working_doctor, service, django_assert_num_queries
):
    for hour in (9, 10, 11):
        AppointmentFactory(doctor=working_doctor, service=service, starts_at=at(MONDAY, hour))

    def queries_for_the_day() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            reception_client.get(reverse("scheduling:day"), {"date": "2026-11-30"})
        return len(captured)

    few = queries_for_the_day()
    for minute in range(0, 180, 15):
        AppointmentFactory(
            doctor=DoctorFactory(),
            service=service,
            starts_at=at(MONDAY, 13) + timedelta(minutes=minute),
        )
    assert queries_for_the_day() == few
    # the session with its user and permissions, appointments, doctors, working
    # hours, time off, the bell's unread count, the count of appointments to rebook
    # (the session is saved at most once a minute: not here)
    with django_assert_num_queries(7):
        reception_client.get(reverse("scheduling:day"), {"date": "2026-11-30"})


@pytest.mark.parametrize("bad_date", ["not-a-date", "9999-12-31", "0001-01-01", "2026-02-30"])
def test_day_view_with_a_bad_date_shows_today(reception_client, bad_date):
    response = reception_client.get(reverse("scheduling:day"), {"date": bad_date})

    assert response.status_code == 200
    assert response.context["day"] == date(2026, 11, 29)


def test_booking_page_refuses_a_date_years_away(reception_client, service):
    response = reception_client.get(
        reverse("scheduling:book"), {"service": service.pk, "date": "9999-12-31"}
    )

    assert response.status_code == 200
    assert "Choose a date between last year and 2 years from now." in response.content.decode()
    assert response.context["slots"] is None


def test_confirm_from_the_day_view_refreshes_the_card(
    reception_client, working_doctor, anna, service
):
    appointment = book(working_doctor, anna, service, at(MONDAY, 9))

    response = reception_client.post(
        reverse("scheduling:action", args=[appointment.pk, "confirm"]),
        headers={"HX-Request": "true"},
    )

    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED
    assert (
        response.content.decode()
        .lstrip()
        .startswith('<div class="appointment-card status-confirmed"')
    )


def test_refused_quick_action_shows_why_in_the_card(
    reception_client, working_doctor, anna, service
):
    appointment = book(working_doctor, anna, service, at(MONDAY, 9))

    response = reception_client.post(
        reverse("scheduling:action", args=[appointment.pk, "check-in"]),
        headers={"HX-Request": "true"},
    )

    assert "Only a confirmed appointment can be checked in; this one is booked." in (
        response.content.decode()
    )
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED


def test_cancel_from_the_day_view_takes_the_reason_from_the_dialog(
    reception_client, working_doctor, anna, service
):
    appointment = book(working_doctor, anna, service, at(MONDAY, 9))

    reception_client.post(
        reverse("scheduling:cancel", args=[appointment.pk]),
        {"common_reason": "other", "reason": "Patient is travelling"},
    )

    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    assert appointment.cancellation_reason == "Patient is travelling"


def test_cancel_without_a_reason_is_refused(reception_client, working_doctor, anna, service):
    appointment = book(working_doctor, anna, service, at(MONDAY, 9))

    response = reception_client.post(
        reverse("scheduling:cancel", args=[appointment.pk]), {"reason": "  "}, follow=True
    )

    assert "Say why the appointment is cancelled." in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED


def test_the_appointment_page_cancels_through_the_cancel_view(
    reception_client, working_doctor, anna, service
):
    appointment = book(working_doctor, anna, service, at(MONDAY, 9))
    detail = reverse("scheduling:detail", args=[appointment.pk])

    page = reception_client.get(detail).content.decode()

    cancel = reverse("scheduling:cancel", args=[appointment.pk])
    assert f'action="{cancel}"' in page
    assert 'name="common_reason"' in page
    assert '<option value="other" selected>Another reason</option>' in page
    assert 'placeholder="Reason for cancelling"' in page
    # What the page's form sends: a common reason with details, back to the page.
    response = reception_client.post(
        cancel,
        {"common_reason": "patient_asked", "reason": "Moving away", "next": detail},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == detail
    assert "Cancelled: Anna Smithson with Dr Smith on Mon 30 Nov at 09:00." in (
        response.content.decode()
    )
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    assert appointment.cancellation_reason == "The patient asked: Moving away"


def test_the_appointment_page_refuses_another_reason_left_blank(
    reception_client, working_doctor, anna, service
):
    appointment = book(working_doctor, anna, service, at(MONDAY, 9))
    detail = reverse("scheduling:detail", args=[appointment.pk])

    response = reception_client.post(
        reverse("scheduling:cancel", args=[appointment.pk]),
        {"common_reason": "other", "reason": "", "next": detail},
    )

    assert response.status_code == 200
    assert "Say why the appointment is cancelled." in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED


def test_cancel_is_not_a_quick_action_any_more(reception_client, working_doctor, anna, service):
    """The generic action view has no cancel: its URL is the cancel view's."""
    appointment = book(working_doctor, anna, service, at(MONDAY, 9))

    assert "cancel" not in QUICK_ACTIONS
    match = resolve(reverse("scheduling:action", args=[appointment.pk, "cancel"]))
    assert match.func.view_class is CancelView


def test_check_in_without_javascript_redirects_with_a_message(
    reception_client, working_doctor, anna, service, time_machine
):
    appointment = confirm_appointment(
        appointment=book(working_doctor, anna, service, at(MONDAY, 9)), by=None
    )
    time_machine.move_to(at(MONDAY, 8, 50), tick=False)

    response = reception_client.post(
        reverse("scheduling:action", args=[appointment.pk, "check-in"]), follow=True
    )

    assert "Checked in: Anna Smithson with Dr Smith on Mon 30 Nov at 09:00." in (
        response.content.decode()
    )
    appointment.refresh_from_db()
    assert appointment.status == Status.ARRIVED


def test_no_show_after_the_start_time(
    reception_client, working_doctor, anna, service, time_machine
):
    appointment = confirm_appointment(
        appointment=book(working_doctor, anna, service, at(MONDAY, 9)), by=None
    )
    time_machine.move_to(at(MONDAY, 9, 20), tick=False)

    reception_client.post(reverse("scheduling:action", args=[appointment.pk, "no-show"]))

    appointment.refresh_from_db()
    assert appointment.status == Status.NO_SHOW


def test_unknown_action_or_appointment_is_404(reception_client, working_doctor, anna, service):
    appointment = book(working_doctor, anna, service, at(MONDAY, 9))

    assert (
        reception_client.post(
            reverse("scheduling:action", args=[appointment.pk, "delete"])
        ).status_code
        == 404
    )
    assert (
        reception_client.post(reverse("scheduling:action", args=[999_999, "confirm"])).status_code
        == 404
    )


def test_quick_actions_need_post(reception_client, working_doctor, anna, service):
    appointment = book(working_doctor, anna, service, at(MONDAY, 9))

    response = reception_client.get(reverse("scheduling:action", args=[appointment.pk, "confirm"]))

    assert response.status_code == 405


# --- Reschedule and detail ------------------------------------------------------------------


def test_receptionist_moves_an_appointment_keeping_its_history(
    reception_client, working_doctor, anna, service
):
    appointment = book(working_doctor, anna, service, at(MONDAY, 9))

    response = reception_client.post(
        reverse("scheduling:reschedule", args=[appointment.pk]),
        {"date": "2026-11-30", "slot": f"{working_doctor.pk}@{at(MONDAY, 11).isoformat()}"},
        follow=True,
    )

    appointment.refresh_from_db()
    assert appointment.starts_at == at(MONDAY, 11)
    assert "Moved: Anna Smithson with Dr Smith on Mon 30 Nov at 11:00." in response.content.decode()
    assert [change.action for change in appointment.changes.all()] == [
        AppointmentChange.Action.BOOKED,
        AppointmentChange.Action.RESCHEDULED,
    ]


def test_reschedule_page_offers_the_appointments_own_time_too(
    reception_client, working_doctor, anna, service
):
    appointment = book(working_doctor, anna, service, at(MONDAY, 9))

    response = reception_client.get(
        reverse("scheduling:reschedule", args=[appointment.pk]), {"date": "2026-11-30"}
    )

    times = [local.strftime("%H:%M") for _, local in response.context["slots"][working_doctor]]
    assert times[:2] == ["09:00", "09:15"]


def test_moving_into_a_conflict_is_refused_with_the_reason(
    reception_client, working_doctor, anna, service
):
    appointment = book(working_doctor, anna, service, at(MONDAY, 9))
    book(working_doctor, PatientFactory(), service, at(MONDAY, 10))

    response = reception_client.post(
        reverse("scheduling:reschedule", args=[appointment.pk]),
        {"date": "2026-11-30", "time": "10:15"},
    )

    assert "Dr Smith already has an appointment 10:00–10:30 on Mon 30 Nov." in (
        response.content.decode()
    )
    appointment.refresh_from_db()
    assert appointment.starts_at == at(MONDAY, 9)


def test_appointment_detail_shows_its_history(reception_client, working_doctor, anna, service):
    appointment = confirm_appointment(
        appointment=book(working_doctor, anna, service, at(MONDAY, 9)), by=None
    )

    page = reception_client.get(
        reverse("scheduling:detail", args=[appointment.pk])
    ).content.decode()

    assert "Booked" in page
    assert "Booked → Confirmed" in page


def test_patient_page_lists_the_patients_appointments(
    reception_client, working_doctor, anna, service
):
    book(working_doctor, anna, service, at(MONDAY, 9))

    page = reception_client.get(reverse("patients:detail", args=[anna.pk])).content.decode()

    assert "Mon 30 Nov 2026 09:00" in page


# --- The doctor's day and access -------------------------------------------------------------


def test_doctor_sees_their_day_and_who_has_arrived(
    doctor_client, working_doctor, anna, service, time_machine
):
    appointment = confirm_appointment(
        appointment=book(working_doctor, anna, service, at(MONDAY, 9)), by=None
    )
    book(working_doctor, PatientFactory(given_name="Ben"), service, at(MONDAY, 10))
    time_machine.move_to(at(MONDAY, 8, 55), tick=False)
    check_in(appointment=appointment, by=None)

    response = doctor_client.get(reverse("scheduling:my_day"), {"date": "2026-11-30"})

    assert [a.patient.given_name for a in response.context["appointments"]] == ["Anna", "Ben"]
    assert [a.patient.given_name for a in response.context["arrived"]] == ["Anna"]


def test_my_day_runs_a_fixed_number_of_queries(
    doctor_client, working_doctor, service, django_assert_num_queries
):
    AppointmentFactory(doctor=working_doctor, service=service, starts_at=at(MONDAY, 9))
    for weeks_ago in range(1, 27):  # half a year of history that the page must not read
        AppointmentFactory(
            doctor=working_doctor,
            service=service,
            starts_at=at(MONDAY, 10) - timedelta(weeks=weeks_ago),
            status=Status.COMPLETED,
        )
    for hour in (10, 11):
        AppointmentFactory(doctor=working_doctor, service=service, starts_at=at(MONDAY, hour))

    # the session with its user and permissions, the doctor, the day's
    # appointments, the bell's unread count (the session is saved at most once a
    # minute: not here)
    with django_assert_num_queries(4):
        response = doctor_client.get(reverse("scheduling:my_day"), {"date": "2026-11-30"})

    assert len(response.context["appointments"]) == 3


def test_doctor_cannot_open_another_doctors_appointment(doctor_client, working_doctor, service):
    others = AppointmentFactory(doctor=DoctorFactory(), service=service, starts_at=at(MONDAY, 9))
    own = AppointmentFactory(doctor=working_doctor, service=service, starts_at=at(MONDAY, 10))

    assert doctor_client.get(reverse("scheduling:detail", args=[others.pk])).status_code == 404
    assert doctor_client.get(reverse("scheduling:detail", args=[own.pk])).status_code == 200


@pytest.mark.parametrize(
    ("page", "as_reception", "as_doctor", "as_manager"),
    [
        ("scheduling:day", 200, 403, 200),
        ("scheduling:book", 200, 403, 200),
        ("scheduling:my_day", 403, 200, 403),
    ],
)
def test_role_access_to_scheduling_pages(
    reception_client,
    doctor_client,
    manager_client,
    client,
    page,
    as_reception,
    as_doctor,
    as_manager,
):
    url = reverse(page)

    assert reception_client.get(url).status_code == as_reception
    assert doctor_client.get(url).status_code == as_doctor
    assert manager_client.get(url).status_code == as_manager
    assert client.get(url).status_code == 302


def test_doctor_cannot_act_on_appointments(doctor_client, working_doctor, anna, service):
    appointment = book(working_doctor, anna, service, at(MONDAY, 9))

    response = doctor_client.post(reverse("scheduling:action", args=[appointment.pk, "confirm"]))

    assert response.status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED


def test_ids_past_the_databases_range_are_404_not_500(reception_client):
    huge = "9" * 30

    assert reception_client.get(f"/schedule/appointments/{huge}/").status_code == 404
    assert reception_client.get(f"/patients/{huge}/").status_code == 404
    assert reception_client.get(reverse("scheduling:book"), {"patient": huge}).status_code == 200
