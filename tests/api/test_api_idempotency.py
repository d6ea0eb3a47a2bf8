"""Idempotent API writes (clinic/idempotency.py): a client that sends an
`Idempotency-Key` with a POST or PATCH and retries it gets the first answer again,
without the work being done twice; the same key with another request is refused; a
key belongs to one token and lasts 24 hours.

The clock is Monday 30 November 2026, 07:00 in New York; Dr Smith works Mondays
09:00-17:00."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from clinic.idempotency import purge_expired
from clinic.models import IdempotentRequest
from patients.models import Patient
from scheduling.models import Appointment, AppointmentChange, Status
from sessions_app.models import Session
from tests.clock import MONDAY, at
from tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
KEY = "6f1c7c1e-2b1a-4a53-9d0e-5b8a7f1e2c3d"


def monday(hour: int, minute: int = 0) -> datetime:
    return at(MONDAY, hour, minute)


@pytest.fixture(autouse=True)
def monday_early(time_machine) -> None:
    time_machine.move_to(monday(7), tick=False)


@pytest.fixture
def booking(smith, jane, consultation) -> dict:
    return {
        "patient": jane.pk,
        "doctor": smith.pk,
        "service": consultation.pk,
        "starts_at": monday(10).isoformat(),
    }


def post(client, path: str, body: dict | None = None, *, key: str | None = KEY, **headers):
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(
        f"{API}{path}", json.dumps(body or {}), content_type="application/json", **headers
    )


def test_a_retried_booking_gets_the_first_201_and_books_once(reception_api, booking):
    first = post(reception_api, "/appointments", booking)
    retry = post(reception_api, "/appointments", booking)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Appointment.objects.count() == 1
    assert AppointmentChange.objects.count() == 1


def test_without_a_key_a_retry_is_refused_against_its_own_booking(reception_api, booking):
    """What the key is for: a widget that retried without one met its own booking."""
    post(reception_api, "/appointments", booking, key=None)
    retry = post(reception_api, "/appointments", booking, key=None)

    assert retry.status_code == 409
    assert retry.json()["error"]["code"] == "overlap"


def test_the_same_key_with_another_body_is_a_422(reception_api, booking):
    post(reception_api, "/appointments", booking)
    other = post(reception_api, "/appointments", {**booking, "starts_at": monday(11).isoformat()})

    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert list(Appointment.objects.values_list("starts_at", flat=True)) == [monday(10)]


def test_the_same_key_on_another_endpoint_is_a_422(reception_api, booking, smith, jane):
    post(reception_api, "/appointments", booking)
    other = post(reception_api, f"/patients/{jane.pk}", {}, key=KEY)

    assert other.status_code in (405, 422)
    assert Appointment.objects.count() == 1


def test_a_key_belongs_to_its_token(api_client, receptionist, booking):
    first = post(api_client(receptionist), "/appointments", booking)
    # Another token (another integration) with the same key is another request: it
    # does the work, and here meets the first booking.
    other = post(api_client(receptionist), "/appointments", booking)

    assert first.status_code == 201
    assert other.status_code == 409
    assert "Idempotent-Replayed" not in other


def test_a_refusal_by_the_rules_is_kept_too(reception_api, booking, smith, consultation):
    standing = AppointmentFactory(
        doctor=smith, service=consultation, starts_at=monday(10), ends_at=monday(10, 30)
    )
    refused = post(reception_api, "/appointments", booking)
    standing.status = Status.CANCELLED
    standing.save()
    retry = post(reception_api, "/appointments", booking)

    assert refused.status_code == retry.status_code == 409
    assert retry.json() == refused.json()
    assert Appointment.objects.count() == 1


def test_an_invalid_request_is_not_kept_so_the_fixed_one_may_use_the_key(reception_api, booking):
    invalid = post(reception_api, "/appointments", {**booking, "patient": 424242})
    fixed = post(reception_api, "/appointments", booking)

    assert invalid.status_code == 422
    assert invalid.json()["error"]["code"] == "invalid"
    assert fixed.status_code == 201
    assert Appointment.objects.count() == 1


def test_a_key_is_kept_24_hours(reception_api, booking, time_machine):
    post(reception_api, "/appointments", booking)
    time_machine.move_to(monday(7) + timedelta(hours=23, minutes=59), tick=False)
    assert post(reception_api, "/appointments", booking)["Idempotent-Replayed"] == "true"

    time_machine.move_to(monday(7) + timedelta(hours=24, minutes=1), tick=False)
    late = post(reception_api, "/appointments", booking)

    assert "Idempotent-Replayed" not in late
    assert late.status_code == 422  # 10:00 is now in the past: the work ran again.


def test_the_hourly_purge_forgets_keys_older_than_24_hours(reception_api, booking, time_machine):
    post(reception_api, "/appointments", booking)
    time_machine.move_to(monday(7) + timedelta(hours=23), tick=False)
    assert purge_expired() == 0

    time_machine.move_to(monday(7) + timedelta(hours=25), tick=False)
    assert purge_expired() == 1
    assert not IdempotentRequest.objects.exists()


def test_a_retried_transition_gets_its_first_answer(reception_api, smith, jane, consultation):
    appointment = AppointmentFactory(
        doctor=smith, patient=jane, service=consultation, starts_at=monday(10)
    )
    first = post(reception_api, f"/appointments/{appointment.pk}/confirm")
    retry = post(reception_api, f"/appointments/{appointment.pk}/confirm")

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert appointment.changes.filter(action="confirmed").count() == 1


def test_a_retried_registration_registers_one_patient(reception_api):
    patient = {
        "given_name": "Siobhán",
        "family_name": "D'Arcy",
        "date_of_birth": "1990-04-02",
        "phone": "+12025550143",
    }
    first = post(reception_api, "/patients", patient)
    retry = post(reception_api, "/patients", patient)

    assert first.status_code == retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    assert Patient.objects.filter(family_name="D'Arcy").count() == 1


def test_a_retried_patch_is_replayed(reception_api, jane):
    path = f"{API}/patients/{jane.pk}"
    headers = {"HTTP_IDEMPOTENCY_KEY": KEY}
    first = reception_api.patch(
        path, json.dumps({"notes": "Prefers mornings."}), "application/json", **headers
    )
    retry = reception_api.patch(
        path, json.dumps({"notes": "Prefers mornings."}), "application/json", **headers
    )

    assert first.status_code == retry.status_code == 200
    assert retry["Idempotent-Replayed"] == "true"


def test_a_retried_session_opening_opens_one_session(doctor_api, smith, jane, consultation):
    appointment = AppointmentFactory(
        doctor=smith,
        patient=jane,
        service=consultation,
        starts_at=monday(10),
        status=Status.ARRIVED,
    )
    first = post(doctor_api, "/sessions", {"appointment": appointment.pk})
    retry = post(doctor_api, "/sessions", {"appointment": appointment.pk})

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert Session.objects.count() == 1


@pytest.mark.parametrize("key", ["", "with space", "é", "x" * 256])
def test_a_malformed_key_is_a_400_that_changes_nothing(reception_api, booking, key):
    response = post(reception_api, "/appointments", booking, key=key)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_idempotency_key"
    assert not Appointment.objects.exists()


def test_a_key_on_a_read_is_ignored(reception_api):
    response = reception_api.get(f"{API}/doctors", HTTP_IDEMPOTENCY_KEY=KEY)

    assert response.status_code == 200
    assert not IdempotentRequest.objects.exists()


def test_without_a_valid_token_the_key_changes_nothing(api_client, booking):
    response = post(api_client(None), "/appointments", booking)

    assert response.status_code == 401
    assert not IdempotentRequest.objects.exists()


def test_a_replay_reads_the_token_and_the_kept_answer(
    reception_api, booking, django_assert_num_queries
):
    post(reception_api, "/appointments", booking)

    # The token, then the kept answer inside the transaction (savepoint and release
    # around it, in the test's own transaction).
    with django_assert_num_queries(4):
        assert post(reception_api, "/appointments", booking).status_code == 201


def test_the_openapi_document_describes_the_header_on_every_write(reception_api):
    schema = reception_api.get(f"{API}/openapi.json").json()
    parameter = schema["components"]["parameters"]["IdempotencyKey"]

    assert parameter["in"] == "header"
    assert parameter["name"] == "Idempotency-Key"
    writes = [
        operation
        for operations in schema["paths"].values()
        for method, operation in operations.items()
        if method in ("post", "patch")
    ]
    assert writes
    for operation in writes:
        assert {"$ref": "#/components/parameters/IdempotencyKey"} in operation["parameters"]
    reads = [op for ops in schema["paths"].values() for m, op in ops.items() if m == "get"]
    assert all(
        {"$ref": "#/components/parameters/IdempotencyKey"} not in op.get("parameters", [])
        for op in reads
    )
