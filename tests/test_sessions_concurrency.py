"""Two starts at the same moment (DESIGN.md section 3): a doctor never has two
sessions in progress, nor a patient, even when the service's own check races."""

from __future__ import annotations

from datetime import time

import pytest

from doctors.models import Weekday
from scheduling.services import book_appointment, check_in, confirm_appointment
from sessions_app.exceptions import Busy
from sessions_app.models import Session, SessionStatus
from sessions_app.services import create_session, start_session
from tests.clock import MONDAY, at
from tests.concurrency import all_at_once
from tests.factories import DoctorFactory, PatientFactory, ServiceFactory, with_working_hours
from tests.helpers import COMMITTED_DATA

# Real threads need committed data (tests/helpers.py).
pytestmark = COMMITTED_DATA


def created_session(doctor, patient, hour: int) -> Session:
    appointment = book_appointment(
        patient=patient,
        doctor=doctor,
        service=ServiceFactory(),
        starts_at=at(MONDAY, hour),
        booked_by=None,
    )
    confirm_appointment(appointment=appointment, by=None)
    return create_session(appointment=check_in(appointment=appointment, by=None), by=None)


def working_doctor(name: str):
    return with_working_hours(DoctorFactory(family_name=name), Weekday.MONDAY, starts=time(8))


@pytest.fixture(autouse=True)
def monday_morning(time_machine, settings):
    """10:00, with a lead long enough that the 10:00 and 11:00 sessions may both
    start now."""
    time_machine.move_to(at(MONDAY, 10), tick=False)
    settings.SESSION_START_LEAD_MINUTES = 90


def test_two_starts_for_one_doctor_at_once_leave_one_in_progress():
    smith = working_doctor("Smith")
    sessions = [created_session(smith, PatientFactory(), hour) for hour in (10, 11)]
    outcomes = all_at_once([lambda s=s: start_session(session=s, by=None) for s in sessions])

    started = [o for o in outcomes if isinstance(o, Session)]
    refused = [o for o in outcomes if not isinstance(o, Session)]
    assert len(started) == 1
    assert [type(o) for o in refused] == [Busy]
    assert str(refused[0]) == "Dr Smith already has a session in progress."
    assert Session.objects.filter(status=SessionStatus.IN_PROGRESS).count() == 1


def test_two_starts_for_one_patient_with_two_doctors_leave_one_in_progress():
    anna = PatientFactory(given_name="Anna", family_name="Reed")
    sessions = [
        created_session(working_doctor("Smith"), anna, 10),
        created_session(working_doctor("Jones"), anna, 11),
    ]
    outcomes = all_at_once([lambda s=s: start_session(session=s, by=None) for s in sessions])

    refused = [o for o in outcomes if not isinstance(o, Session)]
    assert [type(o) for o in refused] == [Busy]
    assert str(refused[0]) == "Anna Reed is already in a session."
    assert Session.objects.filter(status=SessionStatus.IN_PROGRESS).count() == 1
