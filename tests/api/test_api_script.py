"""The API is done when a script that knows only the clinic's address and two tokens
can run a visit from end to end over HTTP: find a free slot, register the patient,
book, confirm, check in; the doctor opens, starts and completes the session; the
desk reads the invoice.

The script talks to a real server (the live server, a thread of this process) with
the standard library's HTTP client. The clock is pinned for the whole process, so
the server lives on Monday 30 November 2026 too."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import time
from decimal import Decimal

from clinic.tokens import issue_token
from doctors.models import Weekday
from tests.clock import MONDAY, at
from tests.factories import ServiceFactory, WorkingHoursFactory
from tests.helpers import COMMITTED_DATA

# The server's thread sees only committed data (tests/helpers.py).
pytestmark = COMMITTED_DATA


class ClinicAPI:
    """What the script knows: where the API is, and whose token it holds."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = f"{base_url}/api/v1"
        self.token = token

    def get(self, path: str, **query) -> dict | list:
        return self._send("GET", f"{path}?{urllib.parse.urlencode(query)}", None, expect=200)

    def post(self, path: str, body: dict | None = None, *, expect: int = 200) -> dict:
        return self._send("POST", path, body if body is not None else {}, expect=expect)

    def _send(self, method: str, path: str, body: dict | None, *, expect: int):
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, answer = response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            status, answer = error.code, json.loads(error.read())
        assert status == expect, f"{method} {path}: {status} {answer}"
        return answer


def run_a_visit(desk: ClinicAPI, doctor: ClinicAPI) -> dict:
    """The script: everything through the API, nothing but ids and times passed on."""
    [consultation] = [s for s in desk.get("/services") if s["code"] == "consult"]
    [slot, *_] = desk.get("/slots", service=consultation["id"], date_from="2026-11-30")
    patient = desk.post(
        "/patients",
        {
            "given_name": "Jane",
            "family_name": "Doe",
            "date_of_birth": "1985-06-15",
            "phone": "(202) 555-0161",
        },
        expect=201,
    )
    appointment = desk.post(
        "/appointments",
        {
            "patient": patient["id"],
            "doctor": slot["doctor"],
            "service": consultation["id"],
            "starts_at": slot["starts_at"],
            "reason": "Persistent cough",
        },
        expect=201,
    )
    desk.post(f"/appointments/{appointment['id']}/confirm")
    desk.post(f"/appointments/{appointment['id']}/check-in")

    session = doctor.post("/sessions", {"appointment": appointment["id"]}, expect=201)
    doctor.post(f"/sessions/{session['id']}/start")
    doctor.post(f"/sessions/{session['id']}/complete")

    [invoice] = desk.get("/invoices", patient=patient["id"])["items"]
    return {
        "slot": slot,
        "appointment": desk.get(f"/appointments/{appointment['id']}"),
        "session": desk.get(f"/sessions/{session['id']}"),
        "invoice": desk.get(f"/invoices/{invoice['id']}"),
    }


def test_a_script_with_two_tokens_runs_a_visit_from_slot_to_invoice(
    live_server, time_machine, receptionist, doctor
):
    time_machine.move_to(at(MONDAY, 8, 45), tick=False)
    WorkingHoursFactory(doctor=doctor, weekday=Weekday.MONDAY, starts=time(9), ends=time(17))
    ServiceFactory(code="consult", name="Consultation", duration_minutes=30, price="80.00")
    # Made once, as a manager would in admin, and handed to the desk and the doctor.
    _, desk_token = issue_token(user=receptionist, name="Front desk script")
    _, doctor_token = issue_token(user=doctor.user, name="Dr Smith's tablet")

    visit = run_a_visit(
        ClinicAPI(live_server.url, desk_token), ClinicAPI(live_server.url, doctor_token)
    )

    assert visit["slot"]["starts_at"] == "2026-11-30T09:00:00-05:00"
    appointment = visit["appointment"]
    assert (appointment["status"], appointment["starts_at"]) == (
        "completed",
        "2026-11-30T09:00:00-05:00",
    )
    assert [change["action"] for change in appointment["history"]] == [
        "booked",
        "confirmed",
        "checked_in",
        "session_started",
        "completed",
    ]
    assert visit["session"]["status"] == "completed"
    invoice = visit["invoice"]
    assert (invoice["status"], invoice["currency"]) == ("open", "USD")
    assert [(line["description"], line["amount"]) for line in invoice["lines"]] == [
        ("Consultation", "80.00")
    ]
    assert Decimal(invoice["total"]) == Decimal(invoice["balance"]) == Decimal("80.00")
    assert invoice["payments"] == []
