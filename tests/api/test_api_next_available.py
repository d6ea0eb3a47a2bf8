""" "Next available" in the JSON API: rescheduling to another doctor, and the first
free slots across days (GET /slots/next).

The scene: Monday 30 November 2026 in New York, the clock at 07:00. Dr Smith and
Dr Jones work Mondays and Fridays from 09:00 to 10:00; a consultation lasts 30
minutes. Jane Doe is booked with Dr Smith at 09:00.
"""

from __future__ import annotations

from datetime import time

import pytest

from doctors.models import Weekday
from scheduling.models import Appointment
from scheduling.services import book_appointment
from tests.clock import MONDAY, at
from tests.factories import AppointmentFactory, DoctorFactory, with_working_hours

API = "/api/v1"


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


def post(client, url: str, body: dict):
    return client.post(url, body, content_type="application/json")


def test_api_reschedules_to_another_doctor(reception_api, janes_visit, smith, jones):
    response = post(
        reception_api,
        f"{API}/appointments/{janes_visit.pk}/reschedule",
        {"starts_at": "2026-12-04T09:30:00-05:00", "doctor": jones.pk},
    )

    assert response.status_code == 200, response.content
    assert response.json()["doctor"]["id"] == jones.pk
    assert response.json()["starts_at"] == "2026-12-04T09:30:00-05:00"
    janes_visit.refresh_from_db()
    assert janes_visit.doctor == jones


def test_api_refuses_a_doctor_who_does_not_offer_the_service(
    reception_api, janes_visit, smith, jones, consultation
):
    consultation.doctors.set([smith])

    response = post(
        reception_api,
        f"{API}/appointments/{janes_visit.pk}/reschedule",
        {"starts_at": "2026-11-30T09:30:00-05:00", "doctor": jones.pk},
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unavailable"
    assert Appointment.objects.get(pk=janes_visit.pk).doctor == smith


def test_api_refuses_an_unknown_doctor(reception_api, janes_visit):
    response = post(
        reception_api,
        f"{API}/appointments/{janes_visit.pk}/reschedule",
        {"starts_at": "2026-11-30T09:30:00-05:00", "doctor": 999999},
    )

    assert response.status_code == 422
    assert "doctor" in response.content.decode()
    assert Appointment.objects.get(pk=janes_visit.pk).starts_at == at(MONDAY, 9)


def test_api_moving_onto_another_doctors_patient_is_a_conflict(
    reception_api, janes_visit, jones, consultation
):
    AppointmentFactory(doctor=jones, service=consultation, starts_at=at(MONDAY, 9, 30))

    response = post(
        reception_api,
        f"{API}/appointments/{janes_visit.pk}/reschedule",
        {"starts_at": "2026-11-30T09:30:00-05:00", "doctor": jones.pk},
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "overlap"


def test_api_next_available_across_days(reception_api, smith, consultation):
    response = reception_api.get(
        f"{API}/slots/next",
        {"service": consultation.pk, "doctor": smith.pk, "date_from": "2026-12-01", "limit": 2},
    )

    assert response.status_code == 200, response.content
    assert [(item["starts_at"], item["doctor_name"]) for item in response.json()] == [
        ("2026-12-04T09:00:00-05:00", "Dr Smith"),
        ("2026-12-04T09:15:00-05:00", "Dr Smith"),
    ]


def test_api_next_available_refuses_a_limit_out_of_range(reception_api, smith, consultation):
    response = reception_api.get(
        f"{API}/slots/next", {"service": consultation.pk, "date_from": "2026-12-01", "limit": 0}
    )

    assert response.status_code == 422
