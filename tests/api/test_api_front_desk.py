"""The front desk's endpoints of /api/v1 for issue 16: `POST /appointments/walk-in`
and `POST /appointments/{id}/undo-check-in`, with reception's permissions, and the
day rule of check-in and the booked no-show through the existing endpoints.

The clock is Tuesday 1 December 2026, 10:07:30 in New York; Dr Smith and Dr Jones
work 09:00-17:00 every day."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from django.test import Client

from clinic.api import api
from doctors.models import Weekday
from scheduling.models import Appointment, Status
from tests.clock import NEW_YORK
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    PatientFactory,
    ServiceFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"


def at(hour: int, minute: int = 0, second: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 12, day, hour, minute, second, tzinfo=NEW_YORK)


@pytest.fixture(autouse=True)
def mid_morning(time_machine) -> None:
    time_machine.move_to(at(10, 7, 30), tick=False)


def working_every_day(doctor):
    for weekday in Weekday:
        WorkingHoursFactory(doctor=doctor, weekday=weekday, starts=time(9), ends=time(17))
    return doctor


@pytest.fixture
def smith(doctor):
    return working_every_day(doctor)


@pytest.fixture
def jones(db):
    return working_every_day(DoctorFactory(given_name="Grace", family_name="Jones"))


@pytest.fixture
def jane(db):
    return PatientFactory(given_name="Jane", family_name="Doe")


@pytest.fixture
def consultation(db):
    return ServiceFactory(code="consult", name="Consultation", duration_minutes=30)


def post(client: Client, path: str, body: dict | None = None):
    return client.post(API + path, body or {}, content_type="application/json")


def error_of(response) -> dict:
    return response.json()["error"]


def visit(doctor, status: str, starts_at: datetime | None = None) -> Appointment:
    return AppointmentFactory(doctor=doctor, starts_at=starts_at or at(11), status=status)


# --- POST /appointments/walk-in -------------------------------------------------------------


def test_reception_books_a_walk_in_and_it_comes_back_checked_in(
    reception_api, smith, jane, consultation
):
    response = post(
        reception_api,
        "/appointments/walk-in",
        {"patient": jane.pk, "service": consultation.pk, "doctor": smith.pk},
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["walk_in"]) == ("arrived", True)
    assert (body["starts_at"], body["ends_at"]) == (
        "2026-12-01T10:08:00-05:00",
        "2026-12-01T10:38:00-05:00",
    )
    assert body["arrived_at"] == "2026-12-01T10:07:30-05:00"
    assert [entry["action"] for entry in body["history"]] == [
        "booked_walk_in",
        "confirmed",
        "checked_in",
    ]
    assert Appointment.objects.get().pk == body["id"]


@pytest.mark.parametrize("doctor_given", [True, False], ids=["null", "absent"])
def test_a_walk_in_without_a_doctor_goes_to_whoever_is_free_soonest(
    reception_api, smith, jones, jane, consultation, doctor_given
):
    visit(smith, Status.IN_SESSION, at(10))
    body = {"patient": jane.pk, "service": consultation.pk}
    if doctor_given:
        body["doctor"] = None

    response = post(reception_api, "/appointments/walk-in", body)

    assert response.status_code == 201
    assert response.json()["doctor"] == {"id": jones.pk, "name": "Dr Jones"}


@pytest.mark.parametrize(
    ("role", "expected"), [("doctor", 403), ("manager", 201), ("no token", 401)]
)
def test_a_walk_in_takes_receptions_permissions(
    api_client, request, smith, jane, consultation, role, expected
):
    user = {
        "doctor": lambda: smith.user,
        "manager": lambda: request.getfixturevalue("manager"),
        "no token": lambda: None,
    }[role]()

    response = post(
        api_client(user), "/appointments/walk-in", {"patient": jane.pk, "service": consultation.pk}
    )

    assert response.status_code == expected
    assert Appointment.objects.count() == (1 if expected == 201 else 0)


def test_an_unknown_patient_service_or_doctor_is_a_field_error(reception_api, smith):
    response = post(
        reception_api, "/appointments/walk-in", {"patient": 9999, "service": 9999, "doctor": 9999}
    )

    assert response.status_code == 422
    assert error_of(response)["fields"] == {
        "patient": ["No such patient."],
        "service": ["No such service."],
        "doctor": ["No such doctor."],
    }


@pytest.mark.parametrize(
    "body",
    [{}, {"patient": "Jane", "service": 1}, {"patient": 1, "service": 0}, {"patient": 1}],
)
def test_garbage_in_a_walk_in_is_invalid(reception_api, body):
    response = post(reception_api, "/appointments/walk-in", body)

    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid"


def test_nobody_free_today_is_unavailable_with_the_next_free_time(
    reception_api, smith, jane, consultation, time_machine
):
    time_machine.move_to(at(16, 45), tick=False)

    response = post(
        reception_api, "/appointments/walk-in", {"patient": jane.pk, "service": consultation.pk}
    )

    assert response.status_code == 422
    assert error_of(response) == {
        "code": "unavailable",
        "message": "No doctor is free for Jane Doe (Consultation) today. "
        "The next free time is Wed 02 Dec at 09:00 with Dr Smith.",
    }


# --- POST /appointments/{id}/undo-check-in ------------------------------------------------


def test_reception_undoes_a_check_in(reception_api, smith):
    appointment = visit(smith, Status.ARRIVED)

    response = post(reception_api, f"/appointments/{appointment.pk}/undo-check-in")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["arrived_at"]) == ("confirmed", None)
    assert response.json()["history"][-1]["action"] == "check_in_undone"


def test_undoing_after_the_session_started_is_a_conflict(reception_api, smith):
    appointment = visit(smith, Status.IN_SESSION, at(10))

    response = post(reception_api, f"/appointments/{appointment.pk}/undo-check-in")

    assert response.status_code == 409
    assert error_of(response) == {
        "code": "invalid_transition",
        "message": "The session has started; the check-in can no longer be undone.",
    }


@pytest.mark.parametrize(("role", "expected"), [("doctor", 403), ("manager", 200)])
def test_undoing_takes_receptions_permissions(api_client, request, smith, role, expected):
    appointment = visit(smith, Status.ARRIVED)
    user = smith.user if role == "doctor" else request.getfixturevalue("manager")

    response = post(api_client(user), f"/appointments/{appointment.pk}/undo-check-in")

    assert response.status_code == expected


@pytest.mark.parametrize("appointment_id", [999_999, 0, 2**63])
def test_undoing_an_unknown_appointment_is_not_found(reception_api, appointment_id):
    response = post(reception_api, f"/appointments/{appointment_id}/undo-check-in")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# --- The rules through the existing endpoints -------------------------------------------------


def test_checking_in_tomorrows_appointment_is_a_conflict(reception_api, smith):
    appointment = visit(smith, Status.CONFIRMED, at(9, day=2))

    response = post(reception_api, f"/appointments/{appointment.pk}/check-in")

    assert response.status_code == 409
    assert error_of(response)["message"] == (
        "A patient can be checked in only on the day of their appointment (Wed 02 Dec)."
    )


def test_a_booked_appointment_is_marked_no_show_after_its_start(reception_api, smith):
    appointment = visit(smith, Status.BOOKED, at(9))

    response = post(reception_api, f"/appointments/{appointment.pk}/no-show")

    assert response.status_code == 200
    assert response.json()["status"] == "no_show"


def test_the_document_describes_the_new_endpoints():
    paths = api.get_openapi_schema()["paths"]
    walk_in = paths["/api/v1/appointments/walk-in"]["post"]
    undo = paths["/api/v1/appointments/{appointment_id}/undo-check-in"]["post"]

    assert {201, 409, 422} <= set(walk_in["responses"])
    assert {200, 404, 409} <= set(undo["responses"])
