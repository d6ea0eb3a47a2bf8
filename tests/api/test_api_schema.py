"""The API against its own OpenAPI document (schemathesis): for every operation, a
bounded number of generated requests, valid and invalid, sent through the Django
application; no answer may be a server error or differ from what the document says
(status codes, content types, bodies)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from ninja.openapi.schema import OpenAPISchema
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clinic.api import api
from clinic.tokens import issue_token
from clinic.wsgi import application
from doctors.models import Weekday
from scheduling.availability import clinic_zone
from scheduling.models import Status
from tests.factories import (
    AppointmentFactory,
    InvoiceFactory,
    PatientFactory,
    ServiceFactory,
    SessionFactory,
    with_working_hours,
)

pytestmark = pytest.mark.django_db

CONFIG = SchemathesisConfig.from_dict(
    {
        # Each operation: the boundaries of each parameter, valid and invalid (the
        # coverage phase), and a few random requests, the same ones on every run so
        # CI is repeatable (another seed explores other inputs). No example database
        # is kept between runs.
        "seed": 20261130,
        "generation": {"mode": "all", "max-examples": 10, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(), config=CONFIG)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def through_the_application(settings) -> Iterator[None]:
    """Requests go through the WSGI application in this test's transaction, as the
    test client's do: the end of a request must not close the connection (Django
    would mark the test's transaction as broken)."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def tomorrow_at(hour: int) -> datetime:
    day = timezone.localdate() + timedelta(days=1)
    return datetime.combine(day, time(hour), tzinfo=clinic_zone())


@pytest.fixture
def tokens(through_the_application, receptionist, doctor) -> dict[str, str]:
    """A clinic with something of everything, so that small generated ids find
    things; and the tokens of reception and of the doctor."""
    with_working_hours(doctor, *Weekday, starts=time(8), ends=time(18))
    service = ServiceFactory()
    for hour, status in [(9, Status.BOOKED), (10, Status.CONFIRMED), (11, Status.ARRIVED)]:
        AppointmentFactory(
            doctor=doctor,
            patient=PatientFactory(),
            service=service,
            starts_at=tomorrow_at(hour),
            status=status,
        )
    SessionFactory(doctor=doctor)
    SessionFactory(doctor=doctor, completed=True)
    InvoiceFactory(session__doctor=doctor)
    _, reception = issue_token(user=receptionist, name="schemathesis")
    _, doctor_token = issue_token(user=doctor.user, name="schemathesis")
    return {"reception": reception, "doctor": doctor_token}


def token_for(case, tokens: dict[str, str]) -> str:
    """The doctor's for running sessions, reception's for everything else."""
    if case.method.upper() == "POST" and case.path.startswith("/api/v1/sessions"):
        return tokens["doctor"]
    return tokens["reception"]


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_keeps_to_its_document(case, tokens):
    case.call_and_validate(
        app=application,
        headers={"Authorization": f"Bearer {token_for(case, tokens)}"},
        checks=CHECKS,
    )


def test_the_document_has_every_resource():
    paths = {result.ok().path for result in schema.get_all_operations()}

    assert {
        "/api/v1/appointments",
        "/api/v1/appointments/{appointment_id}/confirm",
        "/api/v1/sessions",
        "/api/v1/sessions/{session_id}/complete",
        "/api/v1/invoices/{invoice_id}",
    } <= paths


def test_no_two_schemas_of_the_document_share_a_name(monkeypatch):
    """ninja files every schema under its class name and silently keeps the last of
    two with the same name, so the document would describe one of them wrongly."""
    clashes = []
    add = OpenAPISchema.add_schema_definitions

    def add_checking(document: OpenAPISchema, definitions: dict) -> None:
        clashes.extend(
            name
            for name, definition in definitions.items()
            if document.schemas.get(name, definition) != definition
        )
        add(document, definitions)

    monkeypatch.setattr(OpenAPISchema, "add_schema_definitions", add_checking)
    api.get_openapi_schema()

    assert clashes == []
