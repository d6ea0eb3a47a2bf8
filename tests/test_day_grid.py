"""Issue 16, point 3: a day view that shows everything. A row a minute, so short
visits back to back never share a row; short cards are compact, with every action
in their menu; the grid draws working hours, breaks, time off, free time that books
(doctor, date and time filled in) and the current time; a week per doctor; and a
cancellation's reason from a dialog of the page (or its page without JavaScript),
checked by the server.

The scene: the Sunday evening before MONDAY (30 November 2026) in New York. Dr Smith
works Mondays 09:00-17:00."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from doctors.models import Weekday
from scheduling.models import Appointment, Status
from tests.clock import MONDAY, at
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    PatientFactory,
    ServiceFactory,
    TimeOffFactory,
    UserFactory,
    WorkingHoursFactory,
)
from tests.helpers import signed_in

HTMX = {"HX-Request": "true"}
SUNDAY = MONDAY - timedelta(days=1)


@pytest.fixture(autouse=True)
def sunday_evening(time_machine, settings):
    time_machine.move_to(at(SUNDAY, 18), tick=False)
    settings.SESSION_COOKIE_AGE = 7 * 24 * 60 * 60  # Tests move the clock on.


@pytest.fixture
def quick(db):
    return ServiceFactory(code="jab", name="Vaccination", duration_minutes=10)


@pytest.fixture
def consultation(db):
    return ServiceFactory(code="consult", name="Consultation", duration_minutes=30)


def visit(doctor, service, starts_at, status=Status.BOOKED, **extra) -> Appointment:
    return AppointmentFactory(
        doctor=doctor, service=service, starts_at=starts_at, status=status, **extra
    )


def day_grid(client, day=MONDAY):
    response = client.get(reverse("scheduling:day"), {"date": day.isoformat()})
    assert response.status_code == 200
    return response


def column_of(response, doctor):
    return next(c for c in response.context["grid"].columns if c.doctor_day.doctor == doctor)


def card_html(page: str, appointment: Appointment) -> str:
    start = page.index(f'id="appointment-{appointment.pk}"')
    end = page.find('<div class="grid-appointment"', start)
    return page[start : end if end > 0 else None]


# --- The grid ---------------------------------------------------------------------------


def test_back_to_back_ten_minute_visits_each_have_rows_of_their_own(reception_client, smith, quick):
    first = visit(smith, quick, at(MONDAY, 9))
    second = visit(smith, quick, at(MONDAY, 9, 10))

    placed = column_of(day_grid(reception_client), smith).appointments

    rows = {p.item.pk: (p.row, p.row + p.span) for p in placed}
    assert rows[first.pk] == (2, 12)  # the grid opens at 09:00, a row a minute
    assert rows[second.pk] == (12, 22)


def test_a_short_card_is_compact_and_its_menu_holds_every_action(reception_client, smith, quick):
    short = visit(
        smith, quick, at(MONDAY, 9), patient=PatientFactory(given_name="Chen", family_name="Li")
    )

    page = day_grid(reception_client).content.decode()

    card = card_html(page, short)
    assert card.startswith(f'id="appointment-{short.pk}"')
    assert 'class="appointment-card status-booked compact"' in page
    assert 'data-bs-toggle="dropdown"' in card
    assert 'aria-label="Actions for Chen Li, 09:00–09:10"' in card
    assert (
        f'hx-post="/schedule/appointments/{short.pk}/confirm/" aria-label="Confirm Chen Li">'
        "Confirm</button>"
    ) in card
    assert (
        f'href="/schedule/appointments/{short.pk}/reschedule/" '
        'aria-label="Move Chen Li\'s appointment">Move</a>'
    ) in card
    assert f'href="/schedule/appointments/{short.pk}/cancel/"' in card


def test_a_half_hour_card_is_not_compact(reception_client, smith, consultation):
    long = visit(smith, consultation, at(MONDAY, 9))

    page = day_grid(reception_client).content.decode()

    assert f'<div class="appointment-card status-booked" id="appointment-{long.pk}"' in page


def test_the_grid_draws_breaks_and_time_off(reception_client, doctor, consultation):
    WorkingHoursFactory(doctor=doctor, weekday=Weekday.MONDAY, starts=time(9), ends=time(12))
    WorkingHoursFactory(doctor=doctor, weekday=Weekday.MONDAY, starts=time(13), ends=time(17))
    TimeOffFactory(
        doctor=doctor, starts_at=at(MONDAY, 15), ends_at=at(MONDAY, 18), reason="Training"
    )

    response = day_grid(reception_client)

    column = column_of(response, doctor)
    assert [(w.row, w.span) for w in column.windows] == [(2, 180), (242, 240)]
    assert [(b.row, b.span) for b in column.breaks] == [(182, 60)]
    # Clipped to the grid, which ends with the working day.
    assert [(a.row, a.span) for a in column.time_off] == [(362, 120)]
    page = response.content.decode()
    assert "Time off · Training" in page
    assert ">Break</span>" in page


def test_free_time_is_what_no_appointment_or_time_off_takes(reception_client, smith, consultation):
    booked = visit(smith, consultation, at(MONDAY, 10))
    visit(smith, consultation, at(MONDAY, 11), status=Status.CANCELLED)  # frees its time
    TimeOffFactory(doctor=smith, starts_at=at(MONDAY, 15), ends_at=at(MONDAY, 17))

    response = day_grid(reception_client)

    free = [p.item for p in column_of(response, smith).free]
    assert [(f.starts_at, f.ends_at) for f in free] == [
        (at(MONDAY, 9), at(MONDAY, 10)),
        (at(MONDAY, 10, 30), at(MONDAY, 15)),
    ]
    url = f"/schedule/book/?doctor={smith.pk}&amp;date=2026-11-30&amp;time=10:30"
    page = response.content.decode()
    assert f'href="{url}"' in page
    assert 'aria-label="Book from 10:30 with Dr Smith on Mon 30 Nov"' in page
    # The keyboard goes through free time and cards in the order of their times.
    assert (
        page.index("from 09:00")
        < page.index(f'id="appointment-{booked.pk}"')
        < page.index("from 10:30")
    )


def test_free_time_starts_now_today_and_a_past_day_has_none(
    reception_client, smith, consultation, time_machine
):
    time_machine.move_to(at(MONDAY, 11, 7) + timedelta(seconds=30), tick=False)

    free = [p.item for p in column_of(day_grid(reception_client), smith).free]
    assert [(f.starts_at, f.ends_at) for f in free] == [(at(MONDAY, 11, 8), at(MONDAY, 17))]

    time_machine.move_to(at(MONDAY + timedelta(days=1), 8), tick=False)
    assert column_of(day_grid(reception_client), smith).free == []


def test_without_the_right_to_book_the_free_time_is_no_link(smith):
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="change_appointment"))

    page = signed_in(user).get(reverse("scheduling:day"), {"date": "2026-11-30"})

    assert page.status_code == 200
    assert 'class="free-space"' not in page.content.decode()


def test_the_current_time_is_drawn_on_todays_grid_only(
    reception_client, smith, consultation, time_machine
):
    time_machine.move_to(at(MONDAY, 10, 30), tick=False)

    grid = day_grid(reception_client).context["grid"]
    assert grid.now_row == 2 + 90
    assert grid.now_columns == f"2 / span {len(grid.columns)}"
    assert grid.now_origin_ms == int(at(MONDAY, 9).timestamp() * 1000)

    other_day = day_grid(reception_client, MONDAY + timedelta(days=1)).context["grid"]
    assert other_day.now_row is None
    assert (
        'data-testid="now-line"'
        not in day_grid(reception_client, MONDAY + timedelta(days=1)).content.decode()
    )


def test_the_day_views_queries_do_not_grow_with_its_appointments(reception_client, smith, quick):
    TimeOffFactory(doctor=smith, starts_at=at(MONDAY, 16), ends_at=at(MONDAY, 17))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            day_grid(reception_client)
        return len(captured)

    day_grid(reception_client)  # the session's first save
    few = queries()
    for index in range(30):
        other = DoctorFactory()
        WorkingHoursFactory(doctor=other, weekday=Weekday.MONDAY)
        TimeOffFactory(doctor=other, starts_at=at(MONDAY, 12), ends_at=at(MONDAY, 13))
        visit(smith, quick, at(MONDAY, 9) + timedelta(minutes=10 * index))
        visit(other, quick, at(MONDAY, 9))
    # the session with its user and permissions, appointments, doctors, working
    # hours, time off, the bell's unread count, the count of appointments to rebook
    assert queries() == few == 7


# --- The week of a doctor ---------------------------------------------------------------


def week(client, **params):
    return client.get(reverse("scheduling:week"), params)


def test_the_week_shows_a_column_a_day_with_the_doctors_cards(
    reception_client, smith, consultation
):
    WorkingHoursFactory(doctor=smith, weekday=Weekday.WEDNESDAY, starts=time(13), ends=time(15))
    monday = visit(smith, consultation, at(MONDAY, 9))
    wednesday = visit(smith, quick_service(), at(MONDAY + timedelta(days=2), 14))
    visit(DoctorFactory(), consultation, at(MONDAY, 9))  # another doctor's

    response = week(reception_client, doctor=smith.pk, date="2026-12-02")

    grid = response.context["grid"]
    assert [column.day for column in grid.columns] == [MONDAY + timedelta(days=n) for n in range(7)]
    assert [p.item.pk for p in grid.columns[0].appointments] == [monday.pk]
    assert [p.item.pk for p in grid.columns[2].appointments] == [wednesday.pk]
    assert sum(len(c.appointments) for c in grid.columns) == 2
    # One row a minute from the earliest hour of the week: 09:00.
    assert grid.columns[2].windows[0].row == 2 + 4 * 60
    page = response.content.decode()
    assert "Dr Smith · 30 Nov – 6 Dec 2026" in page
    assert f'href="?doctor={smith.pk}&amp;date=2026-11-23"' in page  # previous week
    assert f'href="?doctor={smith.pk}&amp;date=2026-12-07"' in page  # next week


def quick_service():
    return ServiceFactory(code="jab", name="Vaccination", duration_minutes=10)


def test_the_day_views_doctor_heading_links_to_their_week(reception_client, smith):
    page = day_grid(reception_client).content.decode()

    assert f'href="/schedule/week/?doctor={smith.pk}&amp;date=2026-11-30"' in page


def test_the_weeks_queries_do_not_grow_with_its_appointments(reception_client, smith, quick):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert week(reception_client, doctor=smith.pk, date="2026-11-30").status_code == 200
        return len(captured)

    week(reception_client, doctor=smith.pk)  # the session's first save
    TimeOffFactory(doctor=smith, starts_at=at(MONDAY, 16), ends_at=at(MONDAY, 17))
    few = queries()
    for day in range(5):
        WorkingHoursFactory(doctor=smith, weekday=Weekday(day + 1) if day < 4 else Weekday.SUNDAY)
        for index in range(20):
            visit(smith, quick, at(MONDAY + timedelta(days=day), 9) + timedelta(minutes=10 * index))
        TimeOffFactory(
            doctor=smith,
            starts_at=at(MONDAY + timedelta(days=day), 13),
            ends_at=at(MONDAY + timedelta(days=day), 14),
        )
    # the session with its user and permissions, the doctors, working hours, time
    # off, appointments, the bell's unread count, the count of appointments to rebook
    assert queries() == few == 7


@pytest.mark.parametrize("asked", ["999999", "abc", "99999999999999999999999"])
def test_a_week_of_nobody_says_so_and_shows_the_first_doctor(reception_client, smith, asked):
    response = week(reception_client, doctor=asked)

    assert response.status_code == 200
    assert response.context["doctor"] == smith
    assert "No such doctor; showing the first." in response.content.decode()


def test_a_doctor_cannot_open_the_reception_week(doctor_client, smith):
    assert week(doctor_client, doctor=smith.pk).status_code == 403


# --- Cancelling with a reason -----------------------------------------------------------


def cancel_url(appointment: Appointment) -> str:
    return reverse("scheduling:cancel", args=[appointment.pk])


def test_the_cancel_page_asks_the_reason(reception_client, smith, consultation):
    appointment = visit(smith, consultation, at(MONDAY, 9))

    page = reception_client.get(cancel_url(appointment)).content.decode()

    assert "Why is it cancelled?" in page
    for label in ("The patient asked", "The doctor is unavailable", "Booked in error"):
        assert label in page
    assert 'name="next" value="/schedule/?date=2026-11-30"' in page


@pytest.mark.parametrize(
    ("data", "kept"),
    [
        ({"common_reason": "doctor_unavailable"}, "The doctor is unavailable"),
        ({"common_reason": "patient_asked", "reason": " Moving "}, "The patient asked: Moving"),
        ({"common_reason": "other", "reason": "Flooded road"}, "Flooded road"),
        ({"reason": "Travelling"}, "Travelling"),  # the appointment page's short form
    ],
)
def test_cancelling_keeps_the_reason_picked_or_written(
    reception_client, smith, consultation, data, kept
):
    appointment = visit(smith, consultation, at(MONDAY, 9))

    response = reception_client.post(
        cancel_url(appointment), {**data, "next": "/schedule/week/"}, follow=True
    )

    assert response.redirect_chain[-1][0] == "/schedule/week/"
    assert "Cancelled: " in response.content.decode()
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancellation_reason) == (Status.CANCELLED, kept)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Say why the appointment is cancelled."),
        ({"common_reason": "other", "reason": "   "}, "Say why the appointment is cancelled."),
        ({"common_reason": "bored"}, "Select a valid choice."),
        ({"common_reason": "other", "reason": "x" * 301}, "at most 300 characters"),
    ],
)
def test_a_cancellation_without_a_proper_reason_changes_nothing(
    reception_client, smith, consultation, data, message
):
    appointment = visit(smith, consultation, at(MONDAY, 9))

    response = reception_client.post(cancel_url(appointment), data)

    assert response.status_code == 200
    assert message in response.content.decode()
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancellation_reason) == (Status.BOOKED, "")


def test_a_refused_cancellation_by_htmx_says_why_in_the_card(reception_client, smith, consultation):
    arrived = visit(smith, consultation, at(MONDAY, 9), status=Status.ARRIVED)

    response = reception_client.post(
        cancel_url(arrived), {"common_reason": "patient_asked"}, headers=HTMX
    )

    content = response.content.decode()
    assert content.lstrip().startswith('<div class="appointment-card status-arrived"')
    assert 'class="alert alert-danger' in content
    arrived.refresh_from_db()
    assert arrived.status == Status.ARRIVED


def test_cancelling_goes_back_only_to_a_page_of_the_clinic(reception_client, smith, consultation):
    appointment = visit(smith, consultation, at(MONDAY, 9))

    response = reception_client.post(
        cancel_url(appointment),
        {"common_reason": "booked_in_error", "next": "https://evil.example/"},
    )

    assert response["Location"] == "/schedule/?date=2026-11-30"


def test_a_doctor_cannot_cancel_from_the_reception_page(doctor_client, smith, consultation):
    appointment = visit(smith, consultation, at(MONDAY, 9))

    response = doctor_client.post(cancel_url(appointment), {"common_reason": "patient_asked"})

    assert response.status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED


def test_the_day_view_has_the_cancel_dialog_and_no_prompt(reception_client, smith, consultation):
    visit(smith, consultation, at(MONDAY, 9))

    page = day_grid(reception_client).content.decode()

    assert '<dialog class="cancel-dialog" id="cancel-dialog"' in page
    assert "hx-prompt" not in page


# --- Booking from free time -------------------------------------------------------------


def test_the_booking_page_takes_the_free_times_doctor_date_and_time(reception_client, smith):
    jane = PatientFactory(given_name="Jane", family_name="Doe")
    params = {"doctor": smith.pk, "date": "2026-11-30", "time": "10:30"}

    page = reception_client.get(reverse("scheduling:book"), params).content.decode()
    assert f'<option value="{smith.pk}" selected>' in page
    assert 'value="2026-11-30"' in page
    assert 'name="time" value="10:30"' in page
    # Carried through finding the patient.
    assert f'<input type="hidden" name="doctor" value="{smith.pk}">' in page

    found = reception_client.get(reverse("scheduling:book"), {**params, "q": "Doe"})
    assert (
        f'href="?patient={jane.pk}&amp;doctor={smith.pk}&amp;date=2026-11-30&amp;time=10%3A30"'
        in found.content.decode()
    )


@pytest.mark.parametrize(
    "params",
    [
        {"doctor": "abc", "date": "2026-13-45", "time": "25:99"},
        {"doctor": "99999999999999999999", "date": "9999-12-31", "time": ""},
    ],
)
def test_a_booking_link_that_cannot_be_read_is_ignored(reception_client, smith, params):
    response = reception_client.get(reverse("scheduling:book"), params)

    assert response.status_code == 200
    assert 'name="time" value=' not in response.content.decode()


def test_a_booking_link_that_cannot_be_read_says_what_it_left_out(reception_client):
    response = reception_client.get(
        reverse("scheduling:book"), {"date": "2026-02-30", "time": "25:99", "doctor": "abc"}
    )

    assert response.status_code == 200
    [warning] = [str(message) for message in response.context["messages"]]
    assert warning == (
        "Left out what could not be read: “abc”, “2026-02-30”, “25:99”. Choose them below."
    )
