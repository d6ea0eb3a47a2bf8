""" "Next available" on reception's booking and reschedule pages and in the API: the
first free times across days, booked or moved to in one click, to another doctor
too (the API's side is tests/api/test_api_next_available.py).

The scene: Monday 30 November 2026 in New York, the clock at 07:00. Dr Smith and
Dr Jones work Mondays and Fridays from 09:00 to 10:00; a consultation lasts 30
minutes. Jane Doe is booked with Dr Smith at 09:00.
"""

from __future__ import annotations

import queue
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import time, timedelta

import pytest
from django.db import connection, transaction
from django.urls import reverse

from doctors.models import Weekday
from scheduling.exceptions import Overlap
from scheduling.models import Appointment, AppointmentChange
from scheduling.services import book_appointment, reschedule_appointment
from tests.clock import MONDAY, at
from tests.factories import AppointmentFactory, DoctorFactory, TimeOffFactory, with_working_hours
from tests.helpers import COMMITTED_DATA, postgresql_only

FRIDAY = MONDAY + timedelta(days=4)


@pytest.fixture(autouse=True)
def monday_early(time_machine) -> None:
    time_machine.move_to(at(MONDAY, 7), tick=False)


@pytest.fixture
def smith(doctor):
    return with_working_hours(doctor, Weekday.MONDAY, Weekday.FRIDAY, ends=time(10))


@pytest.fixture
def jones(db):
    doctor = DoctorFactory(given_name="Grace", family_name="Jones")
    return with_working_hours(doctor, Weekday.MONDAY, Weekday.FRIDAY, ends=time(10))


@pytest.fixture
def janes_visit(smith, jane, consultation) -> Appointment:
    return book_appointment(
        patient=jane, doctor=smith, service=consultation, starts_at=at(MONDAY, 9), booked_by=None
    )


def slot(doctor, starts_at) -> str:
    return f"{doctor.pk}@{starts_at.isoformat()}"


def offered(response) -> list[str]:
    """The next-available buttons of a page: day, time and doctor."""
    return [
        f"{day:%a %d} {local:%H:%M} {doctor.family_name}"
        for day, times in response.context["next_slots"]
        for _, local, doctor in times
    ]


# --- Booking page -------------------------------------------------------------------


def test_booking_page_offers_the_next_available_across_days(
    reception_client, smith, jane, consultation
):
    AppointmentFactory(doctor=smith, service=consultation, starts_at=at(MONDAY, 9))
    AppointmentFactory(doctor=smith, service=consultation, starts_at=at(MONDAY, 9, 30))

    response = reception_client.get(
        reverse("scheduling:book"),
        {"patient": jane.pk, "service": consultation.pk, "date": "2026-11-30", "show": "next"},
    )

    assert offered(response)[:3] == [
        "Fri 04 09:00 Smith",
        "Fri 04 09:15 Smith",
        "Fri 04 09:30 Smith",
    ]
    page = response.content.decode()
    assert 'data-testid="next-available"' in page
    assert f'value="{smith.pk}@2026-12-04T14:00:00+00:00"' in page  # the slot, in UTC
    assert "Friday 4 December" in page


def test_any_doctor_lists_the_first_ten_free_times_of_everyone(
    reception_client, smith, jones, jane, consultation
):
    response = reception_client.get(
        reverse("scheduling:book"),
        {"patient": jane.pk, "service": consultation.pk, "date": "2026-11-30", "show": "next"},
    )

    assert offered(response) == [
        "Mon 30 09:00 Jones",
        "Mon 30 09:00 Smith",
        "Mon 30 09:15 Jones",
        "Mon 30 09:15 Smith",
        "Mon 30 09:30 Jones",
        "Mon 30 09:30 Smith",
        "Fri 04 09:00 Jones",
        "Fri 04 09:00 Smith",
        "Fri 04 09:15 Jones",
        "Fri 04 09:15 Smith",
    ]


def test_a_next_available_time_is_booked_in_one_click(reception_client, smith, jane, consultation):
    response = reception_client.post(
        reverse("scheduling:book"),
        {
            "patient": jane.pk,
            "service": consultation.pk,
            "date": "2026-11-30",
            "show": "next",
            "slot": slot(smith, at(FRIDAY, 9, 15)),
        },
    )

    appointment = Appointment.objects.get(patient=jane)
    assert response.status_code == 302
    assert (appointment.doctor, appointment.starts_at) == (smith, at(FRIDAY, 9, 15))


def test_a_refused_booking_shows_the_next_available_again(
    reception_client, smith, jane, consultation
):
    AppointmentFactory(doctor=smith, service=consultation, starts_at=at(FRIDAY, 9))

    response = reception_client.post(
        reverse("scheduling:book"),
        {
            "patient": jane.pk,
            "service": consultation.pk,
            "date": "2026-11-30",
            "show": "next",
            "slot": slot(smith, at(FRIDAY, 9)),
        },
    )

    assert response.status_code == 200
    assert "Dr Smith already has an appointment 09:00–09:30 on Fri 04 Dec." in (
        response.content.decode()
    )
    assert offered(response)[:1] == ["Mon 30 09:00 Smith"]
    assert not Appointment.objects.filter(patient=jane).exists()


def test_no_free_time_in_the_horizon_says_so(reception_client, smith, jane, consultation):
    TimeOffFactory(doctor=smith, starts_at=at(MONDAY, 0), ends_at=at(MONDAY, 0) + timedelta(90))

    response = reception_client.get(
        reverse("scheduling:book"),
        {"patient": jane.pk, "service": consultation.pk, "date": "2026-11-30", "show": "next"},
    )

    assert "No free time in the 60 days from that date." in response.content.decode()


def test_an_unknown_way_of_showing_is_that_day(reception_client, smith, consultation):
    response = reception_client.get(
        reverse("scheduling:book"),
        {"service": consultation.pk, "date": "2026-11-30", "show": "<script>"},
    )

    assert response.status_code == 200
    assert response.context["next_slots"] is None
    assert list(response.context["slots"]) == [smith]


def test_htmx_gets_the_next_available_fragment_only(reception_client, smith, consultation):
    response = reception_client.get(
        reverse("scheduling:book"),
        {"service": consultation.pk, "date": "2026-11-30", "show": "next"},
        headers={"HX-Request": "true"},
    )

    page = response.content.decode()
    assert '<div id="slots">' in page
    assert "<html" not in page
    assert 'data-testid="next-available"' in page


def test_booking_page_next_available_runs_a_bounded_number_of_queries(
    reception_client, smith, jones, jane, consultation, django_assert_max_num_queries
):
    for weeks in range(1, 30):
        AppointmentFactory(
            doctor=smith, service=consultation, starts_at=at(MONDAY, 9) - timedelta(weeks=weeks)
        )
    reception_client.get(reverse("scheduling:book"))  # the session and the user, once

    with django_assert_max_num_queries(20):
        response = reception_client.get(
            reverse("scheduling:book"),
            {"patient": jane.pk, "service": consultation.pk, "date": "2026-11-30", "show": "next"},
        )

    assert len(offered(response)) == 10


# --- Reschedule page ------------------------------------------------------------------


def test_reschedule_page_lists_only_doctors_who_offer_the_service(
    reception_client, janes_visit, smith, jones, consultation
):
    DoctorFactory(family_name="Patel")  # offers everything, but the list names only two
    consultation.doctors.set([smith, jones])

    response = reception_client.get(reverse("scheduling:reschedule", args=[janes_visit.pk]))

    choices = [label for _, label in response.context["form"].fields["doctor"].choices]
    assert choices == ["Any doctor", "Dr Jones", "Dr Smith"]
    assert response.context["form"]["doctor"].value() == smith.pk


def test_reschedule_page_shows_another_doctors_next_available(
    reception_client, janes_visit, smith, jones, consultation
):
    AppointmentFactory(doctor=jones, service=consultation, starts_at=at(MONDAY, 9))

    response = reception_client.get(
        reverse("scheduling:reschedule", args=[janes_visit.pk]),
        {"date": "2026-11-30", "doctor": jones.pk, "show": "next"},
    )

    assert offered(response)[:3] == [
        "Mon 30 09:30 Jones",
        "Fri 04 09:00 Jones",
        "Fri 04 09:15 Jones",
    ]


def test_receptionist_moves_an_appointment_to_another_doctor_in_one_click(
    reception_client, janes_visit, smith, jones
):
    response = reception_client.post(
        reverse("scheduling:reschedule", args=[janes_visit.pk]),
        {
            "date": "2026-11-30",
            "doctor": "",
            "show": "next",
            "slot": slot(jones, at(FRIDAY, 9, 30)),
        },
        follow=True,
    )

    janes_visit.refresh_from_db()
    assert (janes_visit.doctor, janes_visit.starts_at) == (jones, at(FRIDAY, 9, 30))
    page = response.content.decode()
    assert "Moved: Jane Doe with Dr Jones on Fri 04 Dec at 09:30." in page
    assert "Moved from Dr Smith Mon 30 Nov 09:00 to Dr Jones Fri 4 Dec 09:30" in page


def test_a_typed_time_moves_to_the_chosen_doctor(reception_client, janes_visit, jones):
    reception_client.post(
        reverse("scheduling:reschedule", args=[janes_visit.pk]),
        {"date": "2026-12-04", "doctor": jones.pk, "time": "09:30"},
    )

    janes_visit.refresh_from_db()
    assert (janes_visit.doctor, janes_visit.starts_at) == (jones, at(FRIDAY, 9, 30))


def test_a_typed_time_with_any_doctor_keeps_the_appointments_doctor(
    reception_client, janes_visit, smith
):
    reception_client.post(
        reverse("scheduling:reschedule", args=[janes_visit.pk]),
        {"date": "2026-12-04", "doctor": "", "time": "09:30"},
    )

    janes_visit.refresh_from_db()
    assert (janes_visit.doctor, janes_visit.starts_at) == (smith, at(FRIDAY, 9, 30))


def test_moving_to_a_doctor_who_does_not_offer_the_service_is_refused_on_the_page(
    reception_client, janes_visit, smith, jones, consultation
):
    consultation.doctors.set([smith])

    response = reception_client.post(
        reverse("scheduling:reschedule", args=[janes_visit.pk]),
        {"date": "2026-11-30", "slot": slot(jones, at(MONDAY, 9, 30))},
    )

    assert response.status_code == 200
    assert "Dr Jones does not offer Consultation." in response.content.decode()
    janes_visit.refresh_from_db()
    assert janes_visit.doctor == smith


def test_moving_onto_another_doctors_patient_is_refused_on_the_page(
    reception_client, janes_visit, jones, consultation
):
    AppointmentFactory(doctor=jones, service=consultation, starts_at=at(MONDAY, 9, 30))

    response = reception_client.post(
        reverse("scheduling:reschedule", args=[janes_visit.pk]),
        {"date": "2026-11-30", "slot": slot(jones, at(MONDAY, 9, 30))},
    )

    assert "Dr Jones already has an appointment 09:30–10:00 on Mon 30 Nov." in (
        response.content.decode()
    )
    assert Appointment.objects.get(pk=janes_visit.pk).starts_at == at(MONDAY, 9)


def test_reschedule_page_next_available_runs_a_bounded_number_of_queries(
    reception_client, janes_visit, smith, jones, consultation, django_assert_max_num_queries
):
    for weeks in range(1, 30):
        AppointmentFactory(
            doctor=jones, service=consultation, starts_at=at(MONDAY, 9) - timedelta(weeks=weeks)
        )
    url = reverse("scheduling:reschedule", args=[janes_visit.pk])
    reception_client.get(url)

    with django_assert_max_num_queries(20):
        response = reception_client.get(url, {"date": "2026-11-30", "doctor": "", "show": "next"})

    assert len(offered(response)) == 10


# --- A race at the database -------------------------------------------------------------


def _wait_until_blocked(backend_pid: int, attempt: Future) -> None:
    with connection.cursor() as cursor:
        while not attempt.done():
            cursor.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", [backend_pid])
            if cursor.fetchone()[0]:
                return


@postgresql_only("the exclusion constraint that settles the race is PostgreSQL's")
@COMMITTED_DATA
def test_a_move_to_another_doctor_lost_at_the_database_is_an_overlap(
    janes_visit, jones, bob, consultation
):
    pids: queue.Queue[int] = queue.Queue()

    def move() -> Appointment:
        try:
            connection.ensure_connection()
            pids.put(connection.connection.info.backend_pid)
            return reschedule_appointment(
                appointment=janes_visit, starts_at=at(MONDAY, 9, 15), doctor=jones, by=None
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        with transaction.atomic():
            # Bob with Dr Jones, not committed yet: the move's check sees nothing,
            # its update waits at the doctors' exclusion constraint.
            AppointmentFactory(
                doctor=jones, patient=bob, service=consultation, starts_at=at(MONDAY, 9)
            )
            attempt = pool.submit(move)
            _wait_until_blocked(pids.get(timeout=30), attempt)
        with pytest.raises(Overlap) as refusal:
            attempt.result(timeout=30)

    assert str(refusal.value) == "Dr Jones already has an appointment 09:00–09:30 on Mon 30 Nov."
    janes_visit.refresh_from_db()
    assert (janes_visit.doctor.family_name, janes_visit.starts_at) == ("Smith", at(MONDAY, 9))
    assert not AppointmentChange.objects.filter(
        appointment=janes_visit, action=AppointmentChange.Action.RESCHEDULED
    ).exists()


def test_htmx_free_times_of_the_reschedule_page_can_be_clicked(
    reception_client, janes_visit, jones
):
    response = reception_client.get(
        reverse("scheduling:reschedule", args=[janes_visit.pk]),
        {"date": "2026-11-30", "doctor": jones.pk, "show": "next"},
        headers={"HX-Request": "true"},
    )

    page = response.content.decode()
    assert "<html" not in page
    assert f'value="{jones.pk}@2026-11-30T14:00:00+00:00"' in page
    assert "disabled" not in page


def test_the_manager_names_the_doctors_who_offer_a_service_in_admin(
    manager_client, smith, jones, consultation
):
    url = reverse("admin:scheduling_service_change", args=[consultation.pk])

    response = manager_client.post(
        url,
        {
            "code": "consult",
            "name": "Consultation",
            "duration_minutes": 30,
            "price": "80.00",
            "is_active": "on",
            "doctors": [jones.pk],
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(consultation.offering_doctors()) == [jones]
    assert "Leave empty when every doctor offers this service." in (
        manager_client.get(url).content.decode()
    )
