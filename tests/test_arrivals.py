"""Arrivals at the front desk (issue 16): a check-in only on the appointment's day, a
mistaken check-in undone until the session starts (with what that means for the
doctor's alert and the patient's reminders), and a no-show from booked as well as
confirmed once the start time has passed.

The scene: Tuesday 1 December 2026 in New York. Dr Smith works 09:00-17:00 every
day; Jane Doe has a consultation with him at 15:00, booked and confirmed on the
Monday morning (so her reminders are queued for Monday 15:00 and Tuesday 13:00).
"""

from __future__ import annotations

from datetime import datetime, time

import pytest

from doctors.models import Weekday
from notifications.dispatch import dispatch_due
from notifications.models import Channel, Notification
from notifications.models import Status as MessageStatus
from scheduling.exceptions import InvalidTransition
from scheduling.models import Appointment, AppointmentChange, Status, offered_actions
from scheduling.services import (
    book_appointment,
    check_in,
    confirm_appointment,
    mark_no_show,
    undo_check_in,
)
from sessions_app.exceptions import NotReady
from sessions_app.models import SessionStatus
from sessions_app.services import create_session, open_and_start_session, start_session
from tests.clock import NEW_YORK
from tests.factories import (
    AppointmentFactory,
    PatientFactory,
    ReceptionistFactory,
    ServiceFactory,
    WorkingHoursFactory,
)

Action = AppointmentChange.Action


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    """A time in December (or `month`) 2026, in the clinic's zone."""
    return datetime(2026, month, day, hour, minute, tzinfo=NEW_YORK)


@pytest.fixture(autouse=True)
def tuesday_morning(time_machine) -> None:
    time_machine.move_to(at(1, 9), tick=False)


@pytest.fixture
def smith(doctor):
    for weekday in Weekday:
        WorkingHoursFactory(doctor=doctor, weekday=weekday, starts=time(9), ends=time(17))
    return doctor


@pytest.fixture
def jane(db):
    return PatientFactory(given_name="Jane", family_name="Doe", phone="+12025550123")


@pytest.fixture
def consultation(db):
    return ServiceFactory(code="consult", name="Consultation", duration_minutes=30)


def confirmed_at(starts_at: datetime, doctor, patient, service, by, time_machine) -> Appointment:
    """Booked and confirmed through the services on Monday at 08:00, as reception
    would, so the texts and reminders are those of a real confirmation."""
    time_machine.move_to(at(30, 8, month=11), tick=False)
    appointment = book_appointment(
        patient=patient, doctor=doctor, service=service, starts_at=starts_at, booked_by=by
    )
    confirm_appointment(appointment=appointment, by=by)
    time_machine.move_to(at(1, 9), tick=False)
    return appointment


@pytest.fixture
def janes_visit(smith, jane, consultation, receptionist, time_machine) -> Appointment:
    """Jane's 15:00 consultation today, confirmed."""
    return confirmed_at(at(1, 15), smith, jane, consultation, receptionist, time_machine)


@pytest.fixture
def arrived(janes_visit, receptionist) -> Appointment:
    return check_in(appointment=janes_visit, by=receptionist)


def statuses(appointment: Appointment, template: str) -> list[str]:
    rows = appointment.notifications.filter(template=template).order_by("send_after", "pk")
    return [row.status for row in rows]


def pending_reminders(appointment: Appointment) -> list[datetime]:
    rows = appointment.notifications.filter(
        template="appointment_reminder", status=MessageStatus.PENDING
    )
    return sorted(row.send_after for row in rows)


def history(appointment: Appointment) -> list[tuple[str, str, str]]:
    return [
        (change.action, change.from_status, change.to_status)
        for change in appointment.changes.order_by("changed_at", "pk")
    ]


# --- Checking in on the appointment's day only --------------------------------------


def test_a_patient_is_checked_in_on_the_day_of_their_appointment(janes_visit, receptionist):
    # 09:00 for 15:00: early is fine, the same day.
    check_in(appointment=janes_visit, by=receptionist)

    janes_visit.refresh_from_db()
    assert (janes_visit.status, janes_visit.arrived_at) == (Status.ARRIVED, at(1, 9))


def test_a_late_patient_is_still_checked_in_that_evening(janes_visit, receptionist, time_machine):
    time_machine.move_to(at(1, 23, 59), tick=False)

    check_in(appointment=janes_visit, by=receptionist)

    janes_visit.refresh_from_db()
    assert janes_visit.status == Status.ARRIVED


def test_tomorrows_patient_cannot_be_checked_in_today(
    smith, jane, consultation, receptionist, time_machine
):
    tomorrow = confirmed_at(at(2, 9), smith, jane, consultation, receptionist, time_machine)

    with pytest.raises(InvalidTransition) as refusal:
        check_in(appointment=tomorrow, by=receptionist)

    assert str(refusal.value) == (
        "A patient can be checked in only on the day of their appointment (Wed 02 Dec)."
    )
    tomorrow.refresh_from_db()
    assert (tomorrow.status, tomorrow.arrived_at) == (Status.CONFIRMED, None)
    assert Action.CHECKED_IN not in [action for action, _, _ in history(tomorrow)]
    assert statuses(tomorrow, "doctor_patient_arrived") == []
    assert len(pending_reminders(tomorrow)) == 2


def test_yesterdays_appointment_cannot_be_checked_in_today(smith, jane, receptionist):
    yesterday = AppointmentFactory(
        doctor=smith, patient=jane, starts_at=at(30, 16, month=11), status=Status.CONFIRMED
    )

    with pytest.raises(InvalidTransition) as refusal:
        check_in(appointment=yesterday, by=receptionist)

    assert str(refusal.value) == (
        "A patient can be checked in only on the day of their appointment (Mon 30 Nov)."
    )
    yesterday.refresh_from_db()
    assert yesterday.status == Status.CONFIRMED


# Sunday 1 November 2026 is 25 hours long in New York: the clocks go back from 02:00
# EDT to 01:00 EST. The clinic's Sunday runs from 04:00 UTC to 05:00 UTC on Monday.
DAYLIGHT_SAVING_ENDS = datetime(2026, 11, 1, 9, tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    ("moment", "accepted"),
    [
        pytest.param(datetime(2026, 10, 31, 23, 30, tzinfo=NEW_YORK), False, id="sat-23:30-edt"),
        pytest.param(datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK), True, id="sun-00:30-edt"),
        pytest.param(datetime(2026, 11, 1, 23, 30, tzinfo=NEW_YORK), True, id="sun-23:30-est"),
        pytest.param(datetime(2026, 11, 2, 0, 30, tzinfo=NEW_YORK), False, id="mon-00:30-est"),
    ],
)
def test_the_check_in_day_is_the_clinics_across_a_daylight_saving_change(
    smith, jane, receptionist, time_machine, moment, accepted
):
    appointment = AppointmentFactory(
        doctor=smith, patient=jane, starts_at=DAYLIGHT_SAVING_ENDS, status=Status.CONFIRMED
    )
    # Saturday 23:30 EDT is Sunday in UTC, and Sunday 23:30 EST is Monday in UTC:
    # a comparison of UTC dates would get both wrong.
    time_machine.move_to(moment, tick=False)

    if accepted:
        check_in(appointment=appointment, by=receptionist)
    else:
        with pytest.raises(InvalidTransition):
            check_in(appointment=appointment, by=receptionist)

    appointment.refresh_from_db()
    assert appointment.status == (Status.ARRIVED if accepted else Status.CONFIRMED)


def test_pages_offer_check_in_only_on_the_appointments_day(janes_visit):
    assert "check-in" in offered_actions(Status.CONFIRMED, janes_visit.starts_at, at(1, 9))
    yesterday = at(30, 9, month=11)
    assert "check-in" not in offered_actions(Status.CONFIRMED, janes_visit.starts_at, yesterday)
    assert "check-in" not in offered_actions(Status.CONFIRMED, janes_visit.starts_at, at(2, 9))


# --- Undoing a check-in ---------------------------------------------------------------


def test_a_mistaken_check_in_is_undone_back_to_confirmed(arrived, receptionist, time_machine):
    time_machine.move_to(at(1, 9, 5), tick=False)

    undone = undo_check_in(appointment=arrived, by=receptionist)

    undone.refresh_from_db()
    assert (undone.status, undone.arrived_at) == (Status.CONFIRMED, None)
    assert (undone.starts_at, undone.ends_at) == (at(1, 15), at(1, 15, 30))


def test_the_history_shows_the_check_in_and_its_undoing_with_who_and_when(
    arrived, receptionist, time_machine
):
    colleague = ReceptionistFactory(first_name="Sam", last_name="Lee")
    time_machine.move_to(at(1, 9, 5), tick=False)

    undo_check_in(appointment=arrived, by=colleague)

    *_, checked_in, undone = arrived.changes.order_by("changed_at", "pk")
    assert (checked_in.action, checked_in.changed_by, checked_in.changed_at) == (
        Action.CHECKED_IN,
        receptionist,
        at(1, 9),
    )
    assert (undone.action, undone.changed_by, undone.changed_at) == (
        Action.CHECK_IN_UNDONE,
        colleague,
        at(1, 9, 5),
    )
    assert (undone.from_status, undone.to_status) == (Status.ARRIVED, Status.CONFIRMED)
    assert undone.get_action_display() == "Check-in undone"


def test_an_undone_patient_can_be_checked_in_again(arrived, receptionist, time_machine):
    undo_check_in(appointment=arrived, by=receptionist)
    time_machine.move_to(at(1, 14, 50), tick=False)

    check_in(appointment=arrived, by=receptionist)

    arrived.refresh_from_db()
    assert (arrived.status, arrived.arrived_at) == (Status.ARRIVED, at(1, 14, 50))
    assert [action for action, _, _ in history(arrived)][-3:] == [
        Action.CHECKED_IN,
        Action.CHECK_IN_UNDONE,
        Action.CHECKED_IN,
    ]


def test_once_the_session_has_started_the_check_in_cannot_be_undone(
    arrived, smith, receptionist, time_machine
):
    time_machine.move_to(at(1, 14, 55), tick=False)
    open_and_start_session(appointment=arrived, by=smith.user)

    with pytest.raises(InvalidTransition) as refusal:
        undo_check_in(appointment=arrived, by=receptionist)

    assert str(refusal.value) == "The session has started; the check-in can no longer be undone."
    arrived.refresh_from_db()
    assert arrived.status == Status.IN_SESSION
    assert Action.CHECK_IN_UNDONE not in [action for action, _, _ in history(arrived)]


@pytest.mark.parametrize("status", [Status.BOOKED, Status.CONFIRMED, Status.CANCELLED])
def test_only_an_arrived_patients_check_in_can_be_undone(smith, jane, receptionist, status):
    appointment = AppointmentFactory(doctor=smith, patient=jane, starts_at=at(1, 15), status=status)

    with pytest.raises(InvalidTransition) as refusal:
        undo_check_in(appointment=appointment, by=receptionist)

    assert str(refusal.value) == (
        f"Only an arrived patient's check-in can be undone; this appointment is "
        f"{Status(status).label.lower()}."
    )
    assert not appointment.changes.exists()


def test_an_opened_session_not_yet_started_waits_for_the_patient_to_check_in_again(
    arrived, smith, receptionist, time_machine
):
    """The doctor opened the session (create_session) without starting it: the undo
    goes ahead, the session is kept (it may hold the doctor's first notes), and it
    can start only once the patient is checked in again."""
    session = create_session(appointment=arrived, by=smith.user)

    undo_check_in(appointment=arrived, by=receptionist)
    time_machine.move_to(at(1, 14, 55), tick=False)
    with pytest.raises(NotReady):
        start_session(session=session, by=smith.user)
    check_in(appointment=arrived, by=receptionist)
    started = start_session(session=session, by=smith.user)

    assert started.status == SessionStatus.IN_PROGRESS
    arrived.refresh_from_db()
    assert arrived.status == Status.IN_SESSION


# --- What undoing tells the doctor and the patient -------------------------------------


def test_undoing_cancels_the_doctors_alert_still_waiting_to_go(arrived, receptionist):
    assert statuses(arrived, "doctor_patient_arrived") == [MessageStatus.PENDING]

    undo_check_in(appointment=arrived, by=receptionist)

    assert statuses(arrived, "doctor_patient_arrived") == [MessageStatus.CANCELLED]
    # The doctor never saw it: nothing to take back.
    assert statuses(arrived, "doctor_check_in_undone") == []


def test_undoing_an_alert_already_shown_sends_the_doctor_a_note(
    arrived, smith, receptionist, time_machine
):
    dispatch_due()  # The worker puts the arrival alert in the doctor's inbox.
    time_machine.move_to(at(1, 9, 5), tick=False)

    undo_check_in(appointment=arrived, by=receptionist)

    [alert] = arrived.notifications.filter(template="doctor_patient_arrived")
    assert alert.status == MessageStatus.SENT
    assert alert.read_at == at(1, 9, 5)  # Out of the live alerts, still in the inbox.
    [note] = arrived.notifications.filter(template="doctor_check_in_undone")
    assert (note.channel, note.user, note.status) == (
        Channel.IN_APP,
        smith.user,
        MessageStatus.PENDING,
    )
    assert (
        note.body == "Jane Doe's check-in for 3:00 PM was undone at the desk: they are not waiting."
    )
    assert note.link == "/schedule/my-day/"


def test_undoing_puts_back_the_reminders_still_ahead(arrived, receptionist, time_machine):
    # Checked in at 09:00: the reminders still waiting were dropped.
    assert pending_reminders(arrived) == []
    time_machine.move_to(at(1, 9, 5), tick=False)

    undo_check_in(appointment=arrived, by=receptionist)

    assert pending_reminders(arrived) == [at(1, 13)]


def test_a_reminder_whose_time_passed_meanwhile_stays_dropped(arrived, receptionist, time_machine):
    time_machine.move_to(at(1, 13, 30), tick=False)

    undo_check_in(appointment=arrived, by=receptionist)

    assert pending_reminders(arrived) == []


def test_checking_in_again_after_an_undo_alerts_the_doctor_again(
    arrived, smith, receptionist, time_machine
):
    dispatch_due()
    undo_check_in(appointment=arrived, by=receptionist)
    time_machine.move_to(at(1, 14, 50), tick=False)

    check_in(appointment=arrived, by=receptionist)

    alerts = Notification.objects.filter(
        appointment=arrived, template="doctor_patient_arrived"
    ).order_by("pk")
    assert [(alert.status, alert.user) for alert in alerts] == [
        (MessageStatus.SENT, smith.user),
        (MessageStatus.PENDING, smith.user),
    ]
    # This check-in drops the 13:00 reminder that the undo had put back.
    assert pending_reminders(arrived) == []


# --- No-shows --------------------------------------------------------------------------


def test_a_booked_patient_who_did_not_come_is_marked_no_show_after_the_start(
    smith, jane, consultation, receptionist, time_machine
):
    appointment = book_appointment(
        patient=jane,
        doctor=smith,
        service=consultation,
        starts_at=at(1, 10),
        booked_by=receptionist,
    )
    time_machine.move_to(at(1, 10, 20), tick=False)

    mark_no_show(appointment=appointment, by=receptionist)

    appointment.refresh_from_db()
    assert appointment.status == Status.NO_SHOW
    assert history(appointment)[-1] == (Action.NO_SHOW, Status.BOOKED, Status.NO_SHOW)
    assert statuses(appointment, "appointment_no_show") == [MessageStatus.PENDING]


def test_a_booked_appointment_is_no_no_show_before_its_start(
    smith, jane, consultation, receptionist, time_machine
):
    appointment = book_appointment(
        patient=jane,
        doctor=smith,
        service=consultation,
        starts_at=at(1, 10),
        booked_by=receptionist,
    )
    time_machine.move_to(at(1, 9, 59), tick=False)

    with pytest.raises(InvalidTransition) as refusal:
        mark_no_show(appointment=appointment, by=receptionist)

    assert str(refusal.value) == (
        "A patient can be marked as a no-show only after the start time (10:00 on Tue 01 Dec)."
    )
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED


def test_pages_offer_no_show_for_a_booked_appointment_only_after_its_start():
    starts_at = at(1, 10)

    assert "no-show" not in offered_actions(Status.BOOKED, starts_at, at(1, 9, 59))
    assert "no-show" in offered_actions(Status.BOOKED, starts_at, at(1, 10))
