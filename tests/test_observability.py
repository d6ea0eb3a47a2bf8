"""The logs, as an operator reads them: one JSON line per request and per worker
task, each with its request id and user id, and never a patient's name, phone
number or clinical text.

Lines are captured with the console handler's own formatter and filter (from
settings.LOGGING). The clinic's clock stands on the Sunday evening before Monday
30 November 2026.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import time, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django_q.tasks import async_task

from clinic.logging import ContextFilter, JsonFormatter, LogContext, bind, unbind
from doctors.models import Weekday
from notifications.models import Notification
from notifications.models import Status as NotificationStatus
from scheduling.models import Appointment
from tests.clock import MONDAY, at
from tests.factories import PatientFactory, ServiceFactory, with_working_hours

# What the patient and the visit must never leave in a log.
PATIENT_DATA = ["Zelda", "Quixote", "2025550123", "+1 202", "202-555-0123", "Persistent cough"]


@pytest.fixture(autouse=True)
def sunday_evening(time_machine, settings):
    time_machine.move_to(at(MONDAY - timedelta(days=1), 18), tick=False)
    settings.SESSION_COOKIE_AGE = 24 * 60 * 60


class CapturedLog:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self, logger: str | None = None) -> list[dict]:
        lines = [json.loads(line) for line in self.text.splitlines()]
        return [line for line in lines if logger is None or line["logger"] == logger]


def console_handler() -> logging.Handler:
    """The handler settings.LOGGING puts on the root logger."""
    [handler] = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler.formatter, JsonFormatter)
    ]
    return handler


@pytest.fixture
def captured_log() -> Iterator[CapturedLog]:
    captured = CapturedLog()
    console = console_handler()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(console.formatter)
    for log_filter in console.filters:
        handler.addFilter(log_filter)
    root = logging.getLogger()
    root.addHandler(handler)
    yield captured
    root.removeHandler(handler)


@pytest.fixture
def zelda(db):
    return PatientFactory(given_name="Zelda", family_name="Quixote", phone="+12025550123")


@pytest.fixture
def working_doctor(doctor):
    return with_working_hours(doctor, Weekday.MONDAY, ends=time(12))


def book_through_the_page(client, doctor, patient):
    service = ServiceFactory()
    return client.post(
        reverse("scheduling:book"),
        {
            "patient": patient.pk,
            "service": service.pk,
            "date": MONDAY.isoformat(),
            "slot": f"{doctor.pk}@{at(MONDAY, 9, 30).isoformat()}",
            "reason": "Persistent cough for two weeks",
        },
        follow=True,
    )


# --- The configuration --------------------------------------------------------------


def test_the_console_logs_json_with_the_request_context():
    handler = console_handler()

    assert any(isinstance(log_filter, ContextFilter) for log_filter in handler.filters)


def log_in_a_fresh_process(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """Start Django with these variables (and an empty .env) and log one warning."""
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    code = "import django, logging; django.setup(); logging.getLogger('clinic.x').warning('hi')"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            "ENV_FILE": str(env_file),
            "DEBUG": "true",
            **variables,
        },
        capture_output=True,
        text=True,
        check=False,
    )


def test_plain_logs_for_reading_in_a_terminal(tmp_path):
    result = log_in_a_fresh_process(tmp_path, LOG_FORMAT="plain")

    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stderr.splitlines() if "clinic.x" in line]
    assert line.endswith(" WARNING clinic.x [None user=None] hi")


def test_an_unknown_log_format_is_refused(tmp_path):
    result = log_in_a_fresh_process(tmp_path, LOG_FORMAT="xml")

    assert result.returncode != 0
    assert "LOG_FORMAT must be 'json' or 'plain'" in result.stderr


# --- Requests -----------------------------------------------------------------------


def test_every_request_line_has_its_id_user_duration_status_and_bare_path(
    reception_client, receptionist, working_doctor, zelda, captured_log
):
    response = book_through_the_page(reception_client, working_doctor, zelda)
    reception_client.get(reverse("patients:list"), {"q": "Zelda"})

    appointment = Appointment.objects.get()
    lines = captured_log.lines("clinic.request")
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("POST", reverse("scheduling:book"), 302),
        ("GET", reverse("scheduling:detail", args=[appointment.pk]), 200),
        ("GET", reverse("patients:list"), 200),
    ]
    for line in lines:
        assert line["level"] == "INFO"
        assert line["user_id"] == receptionist.pk
        assert isinstance(line["duration_ms"], float)
        assert len(line["request_id"]) == 32
        assert line["timestamp"]
    assert lines[1]["request_id"] == response["X-Request-ID"]
    assert len({line["request_id"] for line in lines}) == 3


def test_no_patient_data_reaches_the_logs(
    reception_client, working_doctor, zelda, settings, captured_log
):
    settings.NOTIFICATION_CHANNELS = {
        **settings.NOTIFICATION_CHANNELS,
        "sms": "notifications.channels.ConsoleSMS",
    }
    book_through_the_page(reception_client, working_doctor, zelda)
    reception_client.get(reverse("patients:list"), {"q": "Zelda Quixote"})
    reception_client.get(reverse("patients:list"), {"q": "+1 202-555-0123"})
    reception_client.get(reverse("scheduling:book"), {"q": "Quixote"})
    reception_client.get(reverse("patients:detail", args=[zelda.pk]))
    # The booking's SMS, sent by the worker through the console channel.
    async_task("notifications.tasks.dispatch_due", sync=True)

    assert Notification.objects.get(patient=zelda).status == NotificationStatus.SENT
    assert "SMS (console) for notification" in captured_log.text
    for text in PATIENT_DATA:
        assert text not in captured_log.text


def test_an_anonymous_request_logs_no_user(captured_log, client):
    client.get(reverse("login"))

    [line] = captured_log.lines("clinic.request")
    assert line["user_id"] is None
    assert line["status"] == 200


def test_a_refused_request_is_logged_as_a_warning(reception_client, zelda, captured_log):
    chart = reverse("records:chart", args=[zelda.pk])

    response = reception_client.get(chart)

    assert response.status_code == 403
    [line] = captured_log.lines("clinic.request")
    assert (line["level"], line["path"], line["status"]) == ("WARNING", chart, 403)
    # Django's own line about the refusal carries the same request id.
    assert {line["request_id"] for line in captured_log.lines()} == {response["X-Request-ID"]}


def test_lines_logged_during_a_request_carry_its_id(captured_log, client):
    response = client.post(reverse("twilio:inbound"), {"Body": "YES"})

    assert response.status_code == 403
    lines = captured_log.lines()
    assert [line["logger"] for line in lines] == ["notifications.webhooks", "clinic.request"]
    assert {line["request_id"] for line in lines} == {response["X-Request-ID"]}


def test_the_response_carries_a_new_request_id(client):
    first = client.get(reverse("login"))
    second = client.get(reverse("login"))

    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_safe_incoming_request_id_is_kept(captured_log, client):
    response = client.get(reverse("login"), headers={"X-Request-ID": "lb-7f3a_2026-11-29"})

    assert response["X-Request-ID"] == "lb-7f3a_2026-11-29"
    [line] = captured_log.lines("clinic.request")
    assert line["request_id"] == "lb-7f3a_2026-11-29"


@pytest.mark.parametrize(
    "incoming",
    ["x" * 65, "id with spaces", 'quote"injection', "new\\nline", "Zelda Quixote", "../etc"],
)
def test_an_unsafe_incoming_request_id_is_replaced(captured_log, client, incoming):
    response = client.get(reverse("login"), headers={"X-Request-ID": incoming})

    assert response["X-Request-ID"] != incoming
    assert len(response["X-Request-ID"]) == 32
    assert incoming not in captured_log.text


def test_the_pay_link_token_is_not_logged(captured_log, client):
    client.get(reverse("payments:pay", args=["secret-pay-token"]))

    [line] = captured_log.lines("clinic.request")
    assert line["path"] == "/payments/pay/[redacted]/"
    assert "secret-pay-token" not in captured_log.text


# --- Worker tasks -------------------------------------------------------------------


def test_a_task_logs_one_line_with_its_duration(captured_log, db):
    task_id = async_task("clinic.tasks.heartbeat", sync=True)

    [line] = captured_log.lines("clinic.task")
    assert line["func"] == "clinic.tasks.heartbeat"
    assert line["success"] is True
    assert isinstance(line["duration_ms"], float)
    assert line["task_id"] == line["request_id"] == task_id
    assert line["user_id"] is None


def test_lines_logged_in_a_task_carry_its_id(captured_log, zelda, settings):
    settings.NOTIFICATION_CHANNELS = {
        **settings.NOTIFICATION_CHANNELS,
        "sms": "notifications.channels.ConsoleSMS",
    }
    Notification.objects.create(
        patient=zelda, channel="sms", template="test", body="Hi Zelda", idempotency_key="t:1"
    )

    task_id = async_task("notifications.tasks.dispatch_due", sync=True)

    ours = [line for line in captured_log.lines() if line["logger"] != "django-q"]
    assert [line["logger"] for line in ours] == [
        "notifications.channels",
        "notifications.dispatch",
        "clinic.task",
    ]
    assert {line["request_id"] for line in ours} == {task_id}


def test_a_failed_task_logs_its_failure(captured_log, db):
    with pytest.raises(ValueError, match="math domain error"):
        async_task("math.sqrt", -1, sync=True)

    [line] = captured_log.lines("clinic.task")
    assert (line["func"], line["success"], line["level"]) == ("math.sqrt", False, "ERROR")


def test_a_task_names_the_request_that_queued_it(captured_log, db):
    token = bind(LogContext(request_id="booking-request"))
    try:
        task_id = async_task("clinic.tasks.heartbeat", sync=True)
    finally:
        unbind(token)

    [line] = captured_log.lines("clinic.task")
    assert (line["request_id"], line["queued_by"]) == (task_id, "booking-request")


# --- The console SMS channel -------------------------------------------------------------


def test_the_console_sms_shows_no_body_without_debug(captured_log, zelda, settings):
    settings.DEBUG = False
    settings.NOTIFICATION_CHANNELS = {
        **settings.NOTIFICATION_CHANNELS,
        "sms": "notifications.channels.ConsoleSMS",
    }
    message = Notification.objects.create(
        patient=zelda, channel="sms", template="test", body="Hi Zelda", idempotency_key="t:1"
    )

    async_task("notifications.tasks.dispatch_due", sync=True)

    [line] = captured_log.lines("notifications.channels")
    assert line["message"] == (
        f"SMS (console) for notification {message.pk}: 8 characters, not shown without DEBUG"
    )
