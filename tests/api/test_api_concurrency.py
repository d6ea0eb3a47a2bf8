"""Double booking through the API under real concurrency (DESIGN.md section 8): fifty
clients POST overlapping appointments at once over HTTP to a real server; one
booking stands (201) and every other one is told `overlap` (409), never a 5xx.

PostgreSQL only: on SQLite the live server and the test share one database file
whose writers take turns, which proves nothing about the race. The live server runs
in a thread of this process, on real time: the booking is for tomorrow, with a
doctor who works around the clock."""

from __future__ import annotations

import http.client
import json
from datetime import datetime, time, timedelta

from django.utils import timezone

from clinic.tokens import issue_token
from doctors.models import Weekday
from scheduling.availability import clinic_zone
from scheduling.models import Appointment, AppointmentChange
from tests.concurrency import all_at_once
from tests.factories import PatientFactory, ServiceFactory, with_working_hours
from tests.helpers import COMMITTED_DATA, postgresql_only

# The server's threads need committed data (tests/helpers.py).
pytestmark = [
    postgresql_only("the race is settled by PostgreSQL's locks and exclusion constraints"),
    COMMITTED_DATA,
]

CLIENTS = 50


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    day = timezone.localdate() + timedelta(days=1)
    return datetime.combine(day, time(hour, minute), tzinfo=clinic_zone())


def connect(base_url: str) -> http.client.HTTPConnection:
    """A connection to the server, opened now. The clients connect one after the
    other before the race, so the server's small listen queue never overflows; the
    requests are then sent all at once."""
    host, port = base_url.removeprefix("http://").split(":")
    client = http.client.HTTPConnection(host, int(port), timeout=60)
    client.connect()
    return client


def send(
    client: http.client.HTTPConnection, token: str, body: dict, **headers: str
) -> tuple[int, dict]:
    """POST `body` as JSON with the token (and `headers`); the status and the answer,
    whatever the status."""
    try:
        client.request(
            "POST",
            "/api/v1/appointments",
            body=json.dumps(body),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                **headers,
            },
        )
        response = client.getresponse()
        raw = response.read()
    finally:
        client.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, {"raw": raw.decode(errors="replace")}


def test_fifty_clients_booking_one_doctor_at_once_over_http_leave_one_appointment(
    live_server, receptionist, doctor
):
    with_working_hours(doctor, *Weekday, starts=time(0), ends=time(23, 59))
    consultation = ServiceFactory(duration_minutes=30)
    patients = PatientFactory.create_batch(CLIENTS)
    _, token = issue_token(user=receptionist, name="Load test")

    def booking(n: int, patient_id: int):
        # Starts between 10:00 and 10:14: any two 30-minute visits overlap.
        starts_at = tomorrow_at(10, n % 15).isoformat()
        body = {
            "patient": patient_id,
            "doctor": doctor.pk,
            "service": consultation.pk,
            "starts_at": starts_at,
        }
        client = connect(live_server.url)
        return lambda: send(client, token, body)

    results = all_at_once([booking(n, patient.pk) for n, patient in enumerate(patients)])

    failures = [result for result in results if not isinstance(result, tuple)]
    assert failures == []
    statuses = sorted(status for status, _ in results)
    assert [status for status in statuses if status >= 500] == []
    assert statuses == [201] + [409] * (CLIENTS - 1)
    refusals = [body["error"] for status, body in results if status == 409]
    [booked] = [body for status, body in results if status == 201]
    assert {error["code"] for error in refusals} == {"overlap"}
    # Each refusal names the appointment that stands.
    assert {error["conflict"]["id"] for error in refusals} == {booked["id"]}
    assert list(Appointment.objects.values_list("pk", flat=True)) == [booked["id"]]
    assert AppointmentChange.objects.count() == 1


def test_retries_with_one_idempotency_key_at_once_book_once_and_all_get_the_201(
    live_server, receptionist, doctor
):
    """A widget whose first try seemed lost fires retries while it is still running:
    they wait for it and replay its answer."""
    with_working_hours(doctor, *Weekday, starts=time(0), ends=time(23, 59))
    consultation = ServiceFactory(duration_minutes=30)
    patient = PatientFactory()
    _, token = issue_token(user=receptionist, name="Booking widget")
    body = {
        "patient": patient.pk,
        "doctor": doctor.pk,
        "service": consultation.pk,
        "starts_at": tomorrow_at(10).isoformat(),
    }

    def attempt():
        client = connect(live_server.url)
        return lambda: send(client, token, body, **{"Idempotency-Key": "widget-attempt-1"})

    results = all_at_once([attempt() for _ in range(8)])

    assert [result for result in results if not isinstance(result, tuple)] == []
    assert {status for status, _ in results} == {201}
    assert len({json.dumps(answer, sort_keys=True) for _, answer in results}) == 1
    assert Appointment.objects.count() == 1
