"""The appointments, sessions and invoices of /api/v1: each endpoint with each role
and without a token, every error code, and the same rules as the pages (the API
adds none of its own).

The clock is Monday 30 November 2026, 07:00 in New York; Dr Smith works Mondays
09:00-17:00."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from payments.models import Payment, PaymentStatus, Refund
from payments.services import refresh_totals
from scheduling.models import Appointment, Status
from sessions_app.models import Session, SessionStatus
from tests.clock import MONDAY, at
from tests.factories import (
    AppointmentFactory,
    InvoiceFactory,
    PatientFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture(autouse=True)
def monday_early(time_machine) -> None:
    time_machine.move_to(at(MONDAY, 7), tick=False)


@pytest.fixture
def jones_api(api_client, jones) -> Client:
    return api_client(jones.user)


def visit(doctor, *, at: datetime, status: str = Status.BOOKED, **fields) -> Appointment:
    """An appointment written straight to the table, in the state a test needs."""
    return AppointmentFactory(
        doctor=doctor,
        service=ServiceFactory(code="consult", name="Consultation", duration_minutes=30),
        starts_at=at,
        status=status,
        **fields,
    )


def session_of(doctor, *, at: datetime, status: str = SessionStatus.CREATED) -> Session:
    """A session of an arrived patient (or of one in session, when it has started)."""
    started = status != SessionStatus.CREATED
    appointment = visit(doctor, at=at, status=Status.IN_SESSION if started else Status.ARRIVED)
    return Session.objects.create(
        appointment=appointment,
        doctor=doctor,
        patient=appointment.patient,
        status=status,
        started_at=at if started else None,
    )


def post(client: Client, url: str, body: dict | None = None):
    return client.post(url, body if body is not None else {}, content_type="application/json")


def booking(patient, doctor, service, starts_at: str = "2026-11-30T10:00:00-05:00", **more):
    return {
        "patient": patient.pk,
        "doctor": doctor.pk,
        "service": service.pk,
        "starts_at": starts_at,
        **more,
    }


def error_of(response) -> dict:
    return response.json()["error"]


# --- Every endpoint, every role -------------------------------------------------------


@dataclass
class Endpoint:
    """How to call one endpoint on a scene made for it, and what each role gets."""

    call: Callable[..., tuple[str, str, dict | None]]
    expected: dict[str, int] = field(default_factory=dict)


def _book(smith, jane, consultation):
    return "post", "/appointments", booking(jane, smith, consultation)


def _on(status: str, action: str, body: dict | None = None, starts_at: datetime | None = None):
    def call(smith, jane, consultation):
        appointment = visit(smith, at=starts_at or at(MONDAY, 10), status=status)
        return "post", f"/appointments/{appointment.pk}/{action}", body

    return call


def _read_appointment(smith, jane, consultation):
    return "get", f"/appointments/{visit(smith, at=at(MONDAY, 10)).pk}", None


def _open_session(smith, jane, consultation):
    appointment = visit(smith, at=at(MONDAY, 7, 15), status=Status.ARRIVED)
    return "post", "/sessions", {"appointment": appointment.pk}


def _session(action: str, status: str, method: str = "post"):
    def call(smith, jane, consultation):
        session = session_of(smith, at=at(MONDAY, 7, 15), status=status)
        return method, f"/sessions/{session.pk}{action}", None if method == "get" else {}

    return call


def _invoice(smith, jane, consultation):
    return "get", f"/invoices/{InvoiceFactory().pk}", None


OK = {"reception": 200, "doctor": 200, "other doctor": 200, "manager": 200}
RECEPTION_WORK = {"reception": 200, "doctor": 403, "other doctor": 403, "manager": 200}
DOCTOR_WORK = {"reception": 403, "doctor": 200, "other doctor": 404, "manager": 403}

ENDPOINTS = {
    "list appointments": Endpoint(lambda *_: ("get", "/appointments", None), OK),
    "read an appointment": Endpoint(_read_appointment, {**OK, "other doctor": 404}),
    "book": Endpoint(_book, {**RECEPTION_WORK, "reception": 201, "manager": 201}),
    "confirm": Endpoint(_on(Status.BOOKED, "confirm"), RECEPTION_WORK),
    "reschedule": Endpoint(
        _on(Status.BOOKED, "reschedule", {"starts_at": "2026-11-30T11:00:00-05:00"}),
        RECEPTION_WORK,
    ),
    "cancel": Endpoint(
        _on(Status.CONFIRMED, "cancel", {"reason": "Feeling better"}), RECEPTION_WORK
    ),
    "check in": Endpoint(_on(Status.CONFIRMED, "check-in"), RECEPTION_WORK),
    "no-show": Endpoint(_on(Status.CONFIRMED, "no-show", starts_at=at(MONDAY, 6)), RECEPTION_WORK),
    "open a session": Endpoint(_open_session, {**DOCTOR_WORK, "doctor": 201, "other doctor": 422}),
    "start a session": Endpoint(_session("/start", SessionStatus.CREATED), DOCTOR_WORK),
    "complete a session": Endpoint(_session("/complete", SessionStatus.IN_PROGRESS), DOCTOR_WORK),
    "read a session": Endpoint(
        _session("", SessionStatus.CREATED, method="get"), {**OK, "other doctor": 404}
    ),
    "list invoices": Endpoint(
        lambda *_: ("get", "/invoices", None),
        {"reception": 200, "doctor": 403, "other doctor": 403, "manager": 200},
    ),
    "read an invoice": Endpoint(
        _invoice, {"reception": 200, "doctor": 403, "other doctor": 403, "manager": 200}
    ),
}
ROLES = ["reception", "doctor", "other doctor", "manager", "no token"]


@pytest.fixture
def client_as(request, api_client) -> Callable[[str], Client]:
    users = {
        "reception": lambda: request.getfixturevalue("receptionist"),
        "doctor": lambda: request.getfixturevalue("smith").user,
        "other doctor": lambda: request.getfixturevalue("jones").user,
        "manager": lambda: request.getfixturevalue("manager"),
        "no token": lambda: None,
    }
    return lambda role: api_client(users[role]())


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", ENDPOINTS)
def test_each_endpoint_answers_each_role_as_the_pages_do(
    name, role, client_as, smith, jones, jane, consultation
):
    endpoint = ENDPOINTS[name]
    method, path, body = endpoint.call(smith, jane, consultation)
    client = client_as(role)

    response = client.get(API + path) if method == "get" else post(client, API + path, body)

    expected = endpoint.expected.get(role, 401)
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert (
            error_of(response)["code"]
            == {
                401: "unauthenticated",
                403: "forbidden",
                404: "not_found",
                422: "invalid",
            }[expected]
        )


def test_a_doctor_lists_only_their_own_appointments(smith, jones, doctor_api, reception_api):
    mine = visit(smith, at=at(MONDAY, 10))
    visit(jones, at=at(MONDAY, 10))

    listed = doctor_api.get(f"{API}/appointments").json()

    assert [item["id"] for item in listed["items"]] == [mine.pk]
    assert listed["count"] == 1
    assert reception_api.get(f"{API}/appointments").json()["count"] == 2


# --- Booking ---------------------------------------------------------------------------


def test_reception_books_an_appointment(reception_api, smith, jane, consultation):
    response = post(
        reception_api,
        f"{API}/appointments",
        booking(jane, smith, consultation, reason="Persistent cough"),
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "booked"
    assert body["starts_at"] == "2026-11-30T10:00:00-05:00"
    assert body["ends_at"] == "2026-11-30T10:30:00-05:00"
    assert body["doctor"] == {"id": smith.pk, "name": "Dr Smith"}
    assert body["patient"] == {"id": jane.pk, "name": "Jane Doe"}
    assert body["reason"] == "Persistent cough"
    assert [(e["action"], e["by"]) for e in body["history"]] == [("booked", "Rita Owens")]
    assert Appointment.objects.get().pk == body["id"]


def test_a_booking_runs_at_most_ten_queries_whatever_the_history(
    reception_api, smith, jane, consultation, settings
):
    # The texts carry the patient's personal link, which is a row of its own.
    settings.PUBLIC_BASE_URL = "https://clinic.example.test"

    def queries_to_book(patient, starts_at: str) -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            response = post(
                reception_api,
                f"{API}/appointments",
                booking(patient, smith, consultation, starts_at=starts_at),
            )
        assert response.status_code == 201
        return [query["sql"] for query in captured]

    queries_to_book(PatientFactory(), "2026-11-30T09:00:00-05:00")  # notes the token's use
    first = queries_to_book(jane, "2026-11-30T10:00:00-05:00")
    for weeks_ago in range(1, 27):  # half a year of Dr Smith's past
        visit(smith, at=at(MONDAY, 10) - timedelta(weeks=weeks_ago), status=Status.COMPLETED)

    again = queries_to_book(PatientFactory(), "2026-11-30T11:00:00-05:00")

    assert len(again) == len(first), "\n".join([*first, "---", *again])
    # The token with its user and their permissions (one query); the patient, doctor
    # and service (one); in the transaction (here a savepoint and its release, as
    # the test runs in a transaction of its own): both calendar locks in one
    # statement (PostgreSQL; SQLite's IMMEDIATE transaction holds the write lock
    # already), one query for the day's hours with whether the service is offered
    # and nothing (time off, an appointment) is in the way, the row, its history,
    # the personal link, the SMS. The answer is built from the objects in hand.
    locks = 1 if connection.vendor == "postgresql" else 0
    assert len(first) == 9 + locks <= 10, "\n".join(first)


def test_a_time_in_another_offset_is_the_same_instant(reception_api, smith, jane, consultation):
    response = post(
        reception_api,
        f"{API}/appointments",
        booking(jane, smith, consultation, starts_at="2026-11-30T15:00:00Z", duration=45),
    )

    assert response.status_code == 201
    assert response.json()["starts_at"] == "2026-11-30T10:00:00-05:00"
    assert response.json()["ends_at"] == "2026-11-30T10:45:00-05:00"


def test_booking_over_another_appointment_is_a_conflict_naming_it(
    reception_api, smith, jane, consultation
):
    taken = visit(smith, at=at(MONDAY, 10))

    response = post(
        reception_api,
        f"{API}/appointments",
        booking(jane, smith, consultation, starts_at="2026-11-30T10:15:00-05:00"),
    )

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "overlap"
    assert error["message"] == "Dr Smith already has an appointment 10:00–10:30 on Mon 30 Nov."
    assert error["conflict"]["id"] == taken.pk
    assert datetime.fromisoformat(error["conflict"]["starts_at"]) == at(MONDAY, 10)
    assert datetime.fromisoformat(error["conflict"]["ends_at"]) == at(MONDAY, 10, 30)
    assert Appointment.objects.count() == 1


def test_a_naive_start_time_is_refused_with_a_clear_message(
    reception_api, smith, jane, consultation
):
    response = post(
        reception_api,
        f"{API}/appointments",
        booking(jane, smith, consultation, starts_at="2026-11-30T10:00:00"),
    )

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid"
    [message] = error["fields"]["starts_at"]
    assert "offset" in message
    assert Appointment.objects.count() == 0


def test_outside_the_doctors_hours_is_refused(reception_api, smith, jane, consultation):
    response = post(
        reception_api,
        f"{API}/appointments",
        booking(jane, smith, consultation, starts_at="2026-11-30T18:00:00-05:00"),
    )

    assert response.status_code == 422
    assert error_of(response)["code"] == "unavailable"
    assert "does not work" in error_of(response)["message"]


def test_unknown_patient_doctor_and_service_are_field_errors(reception_api):
    response = post(
        reception_api,
        f"{API}/appointments",
        {"patient": 9999, "doctor": 9999, "service": 9999, "starts_at": "2026-11-30T10:00-05:00"},
    )

    assert response.status_code == 422
    assert error_of(response)["fields"] == {
        "patient": ["No such patient."],
        "doctor": ["No such doctor."],
        "service": ["No such service."],
    }


@pytest.mark.parametrize(
    ("change", "field_name"),
    [
        ({"patient": "Jane"}, "patient"),
        ({"patient": 2**63}, "patient"),
        ({"patient": -1}, "patient"),
        ({"doctor": None}, "doctor"),
        ({"starts_at": "tomorrow at ten"}, "starts_at"),
        ({"starts_at": "9999-12-31T23:59:59-12:00"}, "starts_at"),
        ({"starts_at": "0001-01-01T00:00:00+14:00"}, "starts_at"),
        ({"starts_at": "2031-11-30T10:00:00-05:00"}, "starts_at"),
        ({"starts_at": 1_700_000_000}, "starts_at"),
        ({"duration": 0}, "duration"),
        ({"duration": 10**6}, "duration"),
        ({"reason": "x" * 301}, "reason"),
        ({"reason": "nul \x00 inside"}, "reason"),
    ],
)
def test_garbage_in_a_booking_is_a_field_error(
    reception_api, smith, jane, consultation, change, field_name
):
    response = post(
        reception_api, f"{API}/appointments", {**booking(jane, smith, consultation), **change}
    )

    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid"
    assert field_name in error_of(response)["fields"]
    assert Appointment.objects.count() == 0


@pytest.mark.parametrize("body", ["not json", "[1, 2", "{'patient': 1}"])
def test_a_body_that_is_not_json_is_a_bad_request(reception_api, body):
    response = reception_api.post(f"{API}/appointments", body, content_type="application/json")

    assert response.status_code == 400
    assert error_of(response) == {"code": "bad_request", "message": "Cannot parse request body"}


@pytest.mark.parametrize("body", ['"a string"', "[]", "null", "42"])
def test_json_that_is_not_an_object_is_invalid(reception_api, body):
    response = reception_api.post(f"{API}/appointments", body, content_type="application/json")

    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid"


def test_a_missing_body_names_the_missing_fields(reception_api):
    response = post(reception_api, f"{API}/appointments", {})

    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"patient", "doctor", "service", "starts_at"}


# --- The lifecycle ---------------------------------------------------------------------


def test_reception_confirms_checks_in_and_the_history_shows_it(reception_api, smith):
    appointment = visit(smith, at=at(MONDAY, 10))

    post(reception_api, f"{API}/appointments/{appointment.pk}/confirm")
    response = post(reception_api, f"{API}/appointments/{appointment.pk}/check-in")

    assert response.status_code == 200
    assert response.json()["status"] == "arrived"
    assert response.json()["arrived_at"] == "2026-11-30T07:00:00-05:00"
    detail = reception_api.get(f"{API}/appointments/{appointment.pk}").json()
    assert [(e["action"], e["from_status"], e["to_status"]) for e in detail["history"]] == [
        ("confirmed", "booked", "confirmed"),
        ("checked_in", "confirmed", "arrived"),
    ]


def test_confirming_twice_is_an_invalid_transition(reception_api, smith):
    appointment = visit(smith, at=at(MONDAY, 10), status=Status.CONFIRMED)

    response = post(reception_api, f"{API}/appointments/{appointment.pk}/confirm")

    assert response.status_code == 409
    assert error_of(response) == {
        "code": "invalid_transition",
        "message": "Only a booked appointment can be confirmed; this one is confirmed.",
    }


def test_a_no_show_before_the_start_time_is_refused(reception_api, smith):
    appointment = visit(smith, at=at(MONDAY, 10), status=Status.CONFIRMED)

    response = post(reception_api, f"{API}/appointments/{appointment.pk}/no-show")

    assert response.status_code == 409
    assert error_of(response)["code"] == "invalid_transition"
    assert "after the start time (10:00" in error_of(response)["message"]


def test_rescheduling_moves_the_times_and_keeps_the_old_ones_in_the_history(reception_api, smith):
    appointment = visit(smith, at=at(MONDAY, 10), status=Status.CONFIRMED)

    response = post(
        reception_api,
        f"{API}/appointments/{appointment.pk}/reschedule",
        {"starts_at": "2026-11-30T14:00:00-05:00"},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["starts_at"]) == ("confirmed", "2026-11-30T14:00:00-05:00")
    [moved] = body["history"]
    assert moved["action"] == "rescheduled"
    assert (moved["from_starts_at"], moved["to_starts_at"]) == (
        "2026-11-30T10:00:00-05:00",
        "2026-11-30T14:00:00-05:00",
    )


def test_rescheduling_onto_another_appointment_is_an_overlap(reception_api, smith):
    appointment = visit(smith, at=at(MONDAY, 10))
    other = visit(smith, at=at(MONDAY, 14))

    response = post(
        reception_api,
        f"{API}/appointments/{appointment.pk}/reschedule",
        {"starts_at": "2026-11-30T14:00:00-05:00"},
    )

    assert response.status_code == 409
    assert error_of(response)["conflict"]["id"] == other.pk


def test_cancelling_needs_a_reason(reception_api, smith):
    appointment = visit(smith, at=at(MONDAY, 10))

    missing = post(reception_api, f"{API}/appointments/{appointment.pk}/cancel", {})
    blank = post(reception_api, f"{API}/appointments/{appointment.pk}/cancel", {"reason": "  "})

    assert missing.status_code == blank.status_code == 422
    assert "reason" in error_of(missing)["fields"]
    assert error_of(blank)["message"] == "Say why the appointment is cancelled."
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED


def test_a_cancelled_appointment_keeps_its_reason(reception_api, smith):
    appointment = visit(smith, at=at(MONDAY, 10))

    response = post(
        reception_api, f"{API}/appointments/{appointment.pk}/cancel", {"reason": "Travelling"}
    )

    assert response.json()["status"] == "cancelled"
    assert response.json()["cancellation_reason"] == "Travelling"


@pytest.mark.parametrize(
    "path",
    [
        "/appointments/424242",
        "/appointments/9223372036854775807",
        "/sessions/424242",
        "/invoices/424242",
    ],
)
def test_unknown_ids_are_not_found(manager_api, path):
    response = manager_api.get(API + path)

    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found", "message": "No such object."}


@pytest.mark.parametrize("action", ["confirm", "check-in", "no-show"])
def test_acting_on_an_unknown_appointment_is_not_found(reception_api, action):
    assert post(reception_api, f"{API}/appointments/424242/{action}").status_code == 404


@pytest.mark.parametrize("path_id", ["9223372036854775808", str(2**64), "0", "-3"])
@pytest.mark.parametrize("resource", ["appointments", "sessions", "invoices"])
def test_an_id_no_row_can_have_is_not_found(manager_api, resource, path_id):
    response = manager_api.get(f"{API}/{resource}/{path_id}")

    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found", "message": "No such object."}


@pytest.mark.parametrize("path_id", ["abc", "1e3"])
def test_an_id_that_is_not_a_number_is_invalid(reception_api, path_id):
    response = reception_api.get(f"{API}/appointments/{path_id}")

    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid"


# --- Lists -------------------------------------------------------------------------------


def test_the_list_is_paginated(reception_api, smith):
    for hour in (9, 10, 11, 12, 13):
        visit(smith, at=at(MONDAY, hour))

    page = reception_api.get(f"{API}/appointments?limit=2&offset=2").json()

    assert page["count"] == 5
    assert [item["starts_at"][11:16] for item in page["items"]] == ["11:00", "12:00"]


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "offset=-1", "offset=10000000000"])
def test_page_bounds_are_checked(reception_api, query):
    response = reception_api.get(f"{API}/appointments?{query}")

    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid"


def test_the_list_filters_by_day_doctor_patient_and_status(reception_api, smith, jones, jane):
    mine = visit(smith, at=at(MONDAY, 10), patient=jane)
    visit(smith, at=at(MONDAY, 11), status=Status.CONFIRMED)
    visit(jones, at=at(MONDAY, 10))
    visit(smith, at=at(MONDAY, 10) + timedelta(days=1))

    def ids(query: str) -> list[int]:
        return [
            item["id"] for item in reception_api.get(f"{API}/appointments?{query}").json()["items"]
        ]

    assert len(ids("date=2026-11-30")) == 3
    assert len(ids(f"date=2026-11-30&doctor={smith.pk}")) == 2
    assert ids(f"patient={jane.pk}") == [mine.pk]
    assert len(ids("status=confirmed")) == 1
    assert reception_api.get(f"{API}/appointments?status=lost").status_code == 422
    assert reception_api.get(f"{API}/appointments?date=3000-01-01").status_code == 422


def test_listing_appointments_runs_a_fixed_number_of_queries(reception_api, smith, jones):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert reception_api.get(f"{API}/appointments?limit=100").status_code == 200
        return len(queries)

    visit(smith, at=at(MONDAY, 10))
    queries_for_list()  # The token's first use of the minute is written down once.
    few = queries_for_list()
    for hour in range(9, 17):
        visit(jones, at=at(MONDAY, hour))
        visit(smith, at=at(MONDAY, hour) + timedelta(days=7))

    assert queries_for_list() == few


def test_an_appointments_detail_runs_a_fixed_number_of_queries(reception_api, smith):
    appointment = visit(smith, at=at(MONDAY, 10))
    post(reception_api, f"{API}/appointments/{appointment.pk}/confirm")  # The token's first use.

    with CaptureQueriesContext(connection) as short_history:
        reception_api.get(f"{API}/appointments/{appointment.pk}")
    post(
        reception_api,
        f"{API}/appointments/{appointment.pk}/reschedule",
        {"starts_at": "2026-11-30T11:00-05:00"},
    )
    post(reception_api, f"{API}/appointments/{appointment.pk}/check-in")
    with CaptureQueriesContext(connection) as long_history:
        reception_api.get(f"{API}/appointments/{appointment.pk}")

    assert len(long_history) == len(short_history)


# --- Sessions ---------------------------------------------------------------------------


def test_the_doctor_runs_the_session_and_its_invoice_opens(
    doctor_api, reception_api, smith, consultation
):
    appointment = visit(smith, at=at(MONDAY, 7, 15), status=Status.ARRIVED)
    extra = ServiceFactory(code="ecg", name="ECG", duration_minutes=15, price=Decimal("45.00"))

    opened = post(doctor_api, f"{API}/sessions", {"appointment": appointment.pk})
    session_id = opened.json()["id"]
    started = post(doctor_api, f"{API}/sessions/{session_id}/start")
    completed = post(
        doctor_api,
        f"{API}/sessions/{session_id}/complete",
        {"performed": [{"service": consultation.pk}, {"service": extra.pk, "quantity": 2}]},
    )

    assert opened.status_code == 201
    assert opened.json()["status"] == "created"
    assert started.json()["status"] == "in_progress"
    assert started.json()["started_at"] == "2026-11-30T07:00:00-05:00"
    assert completed.status_code == 200
    assert completed.json()["status"] == "completed"
    appointment.refresh_from_db()
    assert appointment.status == Status.COMPLETED
    [invoice] = reception_api.get(f"{API}/invoices?patient={appointment.patient_id}").json()[
        "items"
    ]
    assert invoice["total"] == "170.00"


def test_a_session_shows_times_and_status_never_clinical_content(reception_api, smith):
    session = session_of(smith, at=at(MONDAY, 7, 15))

    body = reception_api.get(f"{API}/sessions/{session.pk}").json()

    assert set(body) == {
        "id",
        "appointment",
        "doctor",
        "patient",
        "status",
        "created_at",
        "started_at",
        "completed_at",
    }


def test_a_session_opens_only_once_the_patient_has_arrived(doctor_api, smith):
    appointment = visit(smith, at=at(MONDAY, 7, 15), status=Status.CONFIRMED)

    response = post(doctor_api, f"{API}/sessions", {"appointment": appointment.pk})

    assert response.status_code == 422
    assert error_of(response)["code"] == "not_ready"


def test_a_second_session_for_one_appointment_is_a_conflict(doctor_api, smith):
    session = session_of(smith, at=at(MONDAY, 7, 15))

    response = post(doctor_api, f"{API}/sessions", {"appointment": session.appointment_id})

    assert response.status_code == 409
    assert error_of(response)["code"] == "already_exists"


def test_a_doctor_with_a_session_in_progress_cannot_start_another(doctor_api, smith):
    session_of(smith, at=at(MONDAY, 6, 30), status=SessionStatus.IN_PROGRESS)
    waiting = session_of(smith, at=at(MONDAY, 7, 15))

    response = post(doctor_api, f"{API}/sessions/{waiting.pk}/start")

    assert response.status_code == 409
    assert error_of(response) == {
        "code": "busy",
        "message": "Dr Smith already has a session in progress.",
    }


def test_starting_too_early_is_refused(doctor_api, smith):
    session = session_of(smith, at=at(MONDAY, 10))

    response = post(doctor_api, f"{API}/sessions/{session.pk}/start")

    assert response.status_code == 422
    assert error_of(response)["code"] == "not_ready"
    assert error_of(response)["message"].startswith("Too early")


def test_completing_a_session_not_started_is_an_invalid_transition(doctor_api, smith):
    session = session_of(smith, at=at(MONDAY, 7, 15))

    response = post(doctor_api, f"{API}/sessions/{session.pk}/complete")

    assert response.status_code == 409
    assert error_of(response)["code"] == "invalid_transition"


@pytest.mark.parametrize(
    "performed",
    [[{"service": 424242}], [{"service": 1, "quantity": 0}], [{"service": 1}] * 21, "ECG"],
)
def test_performed_services_are_checked(doctor_api, smith, performed):
    session = session_of(smith, at=at(MONDAY, 6, 45), status=SessionStatus.IN_PROGRESS)

    response = post(doctor_api, f"{API}/sessions/{session.pk}/complete", {"performed": performed})

    assert response.status_code == 422
    assert all(name.startswith("performed") for name in error_of(response)["fields"])
    session.refresh_from_db()
    assert session.status == SessionStatus.IN_PROGRESS


def test_a_session_of_an_inactive_service_is_refused(doctor_api, smith):
    retired = ServiceFactory(code="old", name="Old test", is_active=False)
    session = session_of(smith, at=at(MONDAY, 6, 45), status=SessionStatus.IN_PROGRESS)

    response = post(
        doctor_api,
        f"{API}/sessions/{session.pk}/complete",
        {"performed": [{"service": retired.pk}]},
    )

    assert response.status_code == 422


# --- Invoices ---------------------------------------------------------------------------


@pytest.fixture
def paid_invoice():
    invoice = InvoiceFactory(lines=[Decimal("80.00"), Decimal("45.50")])
    payment = Payment.objects.create(
        invoice=invoice,
        method="cash",
        amount=Decimal("100.00"),
        status=PaymentStatus.SUCCEEDED,
        idempotency_key="desk-1",
    )
    Refund.objects.create(payment=payment, amount=Decimal("20.00"), reason="Overcharged")
    return refresh_totals(invoice)


def test_an_invoice_shows_lines_payments_refunds_and_its_balance(reception_api, paid_invoice):
    response = reception_api.get(f"{API}/invoices/{paid_invoice.pk}")

    assert response.status_code == 200
    body = response.json()
    # The refund is money returned, nothing more owed: 105.50 is owed, 80.00 kept.
    assert (body["number"], body["currency"], body["status"]) == (
        paid_invoice.number,
        "USD",
        "open",
    )
    assert (body["total"], body["amount_paid"], body["amount_refunded"], body["balance"]) == (
        "125.50",
        "100.00",
        "20.00",
        "25.50",
    )
    assert body["amount_credited"] == "20.00"
    assert [(line["unit_price"], line["amount"]) for line in body["lines"]] == [
        ("80.00", "80.00"),
        ("45.50", "45.50"),
    ]
    [payment] = body["payments"]
    assert (payment["method"], payment["amount"], payment["status"]) == (
        "cash",
        "100.00",
        "succeeded",
    )
    assert [(r["amount"], r["reason"]) for r in payment["refunds"]] == [("20.00", "Overcharged")]


def test_invoices_filter_by_patient_and_status(reception_api, paid_invoice):
    other = InvoiceFactory()

    def numbers(query: str) -> list[int]:
        return [
            item["number"] for item in reception_api.get(f"{API}/invoices?{query}").json()["items"]
        ]

    assert numbers("") == [other.number, paid_invoice.number]
    assert numbers(f"patient={paid_invoice.patient_id}") == [paid_invoice.number]
    # Both owe something (the refund of the paid one lowered its bill, not to nothing).
    assert numbers("status=open") == [other.number, paid_invoice.number]
    assert numbers("status=paid") == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("post", "/invoices", 405),
        ("delete", "/invoices/{id}", 405),
        ("put", "/invoices/{id}", 405),
        ("patch", "/invoices/{id}", 405),
        ("post", "/invoices/{id}", 405),
        ("post", "/invoices/{id}/payments", 404),
    ],
)
def test_invoices_are_read_only(reception_api, paid_invoice, method, path, status):
    response = getattr(reception_api, method)(
        API + path.format(id=paid_invoice.pk), {}, content_type="application/json"
    )

    assert response.status_code == status
    paid_invoice.refresh_from_db()
    assert paid_invoice.total == Decimal("125.50")


def test_listing_invoices_runs_a_fixed_number_of_queries(reception_api):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert reception_api.get(f"{API}/invoices?limit=100").status_code == 200
        return len(queries)

    InvoiceFactory()
    queries_for_list()  # The token's first use of the minute is written down once.
    few = queries_for_list()
    InvoiceFactory.create_batch(5)

    assert queries_for_list() == few


def test_an_invoices_detail_runs_a_fixed_number_of_queries(reception_api, paid_invoice):
    reception_api.get(f"{API}/invoices")  # The token's first use of the minute is written down.
    with CaptureQueriesContext(connection) as one_payment:
        reception_api.get(f"{API}/invoices/{paid_invoice.pk}")
    for n in range(3):
        payment = Payment.objects.create(
            invoice=paid_invoice,
            method="card_terminal",
            amount=Decimal("1.00"),
            status=PaymentStatus.SUCCEEDED,
            idempotency_key=f"more-{n}",
        )
        Refund.objects.create(payment=payment, amount=Decimal("0.50"), reason="Test")
    with CaptureQueriesContext(connection) as four_payments:
        reception_api.get(f"{API}/invoices/{paid_invoice.pk}")

    assert len(four_payments) == len(one_payment)
