"""The rules of DESIGN.md section 4: which change queues which message to whom, when,
and that a change rolled back or repeated never queues a message twice.

The scene: Monday 30 November 2026, 08:00 in New York. Dr Smith works 09:00-17:00
Monday to Wednesday; Jane Doe books a consultation for Tuesday 1 December at 10:00.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.db import connection, transaction
from django_q.conf import Conf
from django_q.models import OrmQ

from clinic.kernel import tasks as kernel_tasks
from doctors.models import Weekday
from notifications.models import Channel, Notification, Status
from notifications.timing import outside_quiet_hours
from records.services import write_note
from scheduling import signals
from scheduling.models import Appointment
from scheduling.services import (
    book_appointment,
    cancel_appointment,
    check_in,
    confirm_appointment,
    mark_no_show,
    reschedule_appointment,
)
from sessions_app.services import complete_session, open_and_start_session
from tests.clock import MONDAY, at
from tests.factories import (
    PatientFactory,
    ReceptionistFactory,
    ServiceFactory,
    with_working_hours,
)

TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)
TUESDAY_10 = at(TUESDAY, 10)


@pytest.fixture(autouse=True)
def monday_morning(time_machine) -> None:
    time_machine.move_to(at(MONDAY, 8), tick=False)


@pytest.fixture
def smith(doctor):
    return with_working_hours(doctor, Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY)


@pytest.fixture
def jane(db):
    return PatientFactory(given_name="Jane", family_name="Doe", phone="+12025550123")


@pytest.fixture
def booked(smith, jane, receptionist) -> Appointment:
    service = ServiceFactory(code="hiv-test", name="HIV test", duration_minutes=30)
    return book_appointment(
        patient=jane, doctor=smith, service=service, starts_at=TUESDAY_10, booked_by=receptionist
    )


@pytest.fixture
def confirmed(booked, receptionist) -> Appointment:
    return confirm_appointment(appointment=booked, by=receptionist)


def messages(appointment: Appointment, template: str | None = None) -> list[Notification]:
    rows = appointment.notifications.order_by("send_after", "pk")
    return list(rows.filter(template=template) if template else rows)


def reminder_times(appointment: Appointment, status: str = Status.PENDING) -> list[datetime]:
    return [
        row.send_after
        for row in messages(appointment, "appointment_reminder")
        if row.status == status
    ]


# --- Patients ---------------------------------------------------------------------


def test_booking_texts_the_patient_who_when_and_where(booked, jane):
    [message] = messages(booked)

    assert (message.channel, message.template, message.patient) == (
        Channel.SMS,
        "appointment_booked",
        jane,
    )
    assert message.body == (
        "Riverside Clinic: Hi Jane, your appointment with Dr Smith is booked for "
        "Tue 1 Dec at 10:00 AM. Reply C to confirm or X to cancel."
    )
    assert message.status == Status.PENDING
    assert message.send_after == message.next_attempt_at == at(MONDAY, 8)
    assert message.idempotency_key == f"booked:{booked.pk}"


def test_texts_are_plain_text_not_html(settings, smith, receptionist):
    settings.CLINIC_NAME = "Hope & Health"
    darcy = PatientFactory(given_name="D'Arcy", family_name="O'Neil")

    appointment = book_appointment(
        patient=darcy,
        doctor=smith,
        service=ServiceFactory(),
        starts_at=TUESDAY_10,
        booked_by=receptionist,
    )

    [message] = messages(appointment)
    assert message.body.startswith("Hope & Health: Hi D'Arcy, your appointment")


def test_confirming_texts_the_patient_and_schedules_both_reminders(confirmed):
    assert [row.template for row in messages(confirmed)][:2] == [
        "appointment_booked",
        "appointment_confirmed",
    ]
    assert reminder_times(confirmed) == [at(MONDAY, 10), at(TUESDAY, 8)]
    reminder = messages(confirmed, "appointment_reminder")[0]
    assert reminder.next_attempt_at == reminder.send_after
    assert "Reminder, Jane: you see Dr Smith on Tue 1 Dec at 10:00 AM." in reminder.body


def test_reminders_whose_time_has_passed_are_not_queued(smith, jane, receptionist):
    soon = book_appointment(
        patient=jane,
        doctor=smith,
        service=ServiceFactory(),
        starts_at=at(MONDAY, 11),
        booked_by=receptionist,
    )
    confirm_appointment(appointment=soon, by=receptionist)

    assert reminder_times(soon) == [at(MONDAY, 9)]


def test_reminder_hours_come_from_settings(settings, booked, receptionist):
    settings.NOTIFICATIONS_REMINDER_HOURS = [20, 1]

    confirm_appointment(appointment=booked, by=receptionist)

    assert reminder_times(booked) == [at(MONDAY, 14), at(TUESDAY, 9)]


def test_a_reminder_in_quiet_hours_waits_for_the_morning(settings, booked, receptionist):
    settings.NOTIFICATIONS_REMINDER_HOURS = [12]  # Monday 22:00, inside 21:00-08:00.

    confirm_appointment(appointment=booked, by=receptionist)

    [reminder] = messages(booked, "appointment_reminder")
    assert reminder.send_after == at(MONDAY, 22)
    assert reminder.next_attempt_at == at(TUESDAY, 8)


def test_rescheduling_moves_the_reminders(confirmed, receptionist):
    wednesday_15 = at(WEDNESDAY, 15)

    reschedule_appointment(appointment=confirmed, starts_at=wednesday_15, by=receptionist)

    assert reminder_times(confirmed, Status.CANCELLED) == [at(MONDAY, 10), at(TUESDAY, 8)]
    assert reminder_times(confirmed) == [at(TUESDAY, 15), at(WEDNESDAY, 13)]
    [moved] = messages(confirmed, "appointment_rescheduled")
    assert "has moved to Wed 2 Dec at 3:00 PM" in moved.body


def test_moving_back_to_the_first_time_queues_the_first_reminders_again(confirmed, receptionist):
    reschedule_appointment(appointment=confirmed, starts_at=at(WEDNESDAY, 15), by=receptionist)
    reschedule_appointment(appointment=confirmed, starts_at=TUESDAY_10, by=receptionist)

    assert reminder_times(confirmed) == [at(MONDAY, 10), at(TUESDAY, 8)]
    assert reminder_times(confirmed, Status.CANCELLED) == [at(TUESDAY, 15), at(WEDNESDAY, 13)]
    # Each move is its own event: two "moved" texts, one per move.
    assert len(messages(confirmed, "appointment_rescheduled")) == 2


def test_rescheduling_an_unconfirmed_appointment_schedules_no_reminders(booked, receptionist):
    reschedule_appointment(appointment=booked, starts_at=at(WEDNESDAY, 15), by=receptionist)

    assert reminder_times(booked) == []


def test_rescheduling_tells_the_doctor_in_the_app(confirmed, smith, receptionist):
    reschedule_appointment(appointment=confirmed, starts_at=at(WEDNESDAY, 15), by=receptionist)

    [notice] = messages(confirmed, "doctor_appointment_rescheduled")
    assert (notice.channel, notice.user) == (Channel.IN_APP, smith.user)
    assert notice.body == "Jane Doe moved from Tue 1 Dec at 10:00 AM to Wed 2 Dec at 3:00 PM."
    assert notice.link == f"/schedule/appointments/{confirmed.pk}/"


def test_cancelling_cancels_what_is_pending_and_tells_patient_and_doctor(
    confirmed, smith, receptionist
):
    cancel_appointment(appointment=confirmed, reason="Patient is travelling", by=receptionist)

    assert reminder_times(confirmed) == []
    assert len(reminder_times(confirmed, Status.CANCELLED)) == 2
    [text] = messages(confirmed, "appointment_cancelled")
    assert text.status == Status.PENDING
    assert "your appointment with Dr Smith on Tue 1 Dec at 10:00 AM is cancelled" in text.body
    [notice] = messages(confirmed, "doctor_appointment_cancelled")
    assert notice.user == smith.user
    assert notice.body == "Jane Doe cancelled Tue 1 Dec at 10:00 AM."


def test_a_no_show_offers_to_rebook(settings, confirmed, receptionist, time_machine):
    settings.CLINIC_PHONE = "+1 202 555 0100"
    time_machine.move_to(TUESDAY_10 + timedelta(minutes=20), tick=False)

    mark_no_show(appointment=confirmed, by=receptionist)

    [text] = messages(confirmed, "appointment_no_show")
    assert text.body == (
        "Riverside Clinic: Jane, we missed you today with Dr Smith. "
        "Call +1 202 555 0100 to book a new time."
    )
    assert reminder_times(confirmed) == []


# --- Staff ------------------------------------------------------------------------


def test_arrival_tells_the_doctor_and_drops_pending_reminders(
    confirmed, smith, receptionist, time_machine
):
    time_machine.move_to(at(TUESDAY, 9), tick=False)

    check_in(appointment=confirmed, by=receptionist)

    [notice] = messages(confirmed, "doctor_patient_arrived")
    assert (notice.channel, notice.user, notice.body) == (
        Channel.IN_APP,
        smith.user,
        "Jane Doe has arrived for 10:00 AM.",
    )
    assert notice.link == "/schedule/my-day/"
    assert reminder_times(confirmed) == []


def test_arrival_channels_come_from_settings(settings, confirmed, receptionist, time_machine):
    settings.NOTIFICATIONS_ARRIVAL_CHANNELS = ["in_app", "email"]
    time_machine.move_to(at(TUESDAY, 9), tick=False)

    check_in(appointment=confirmed, by=receptionist)

    channels = {row.channel for row in messages(confirmed, "doctor_patient_arrived")}
    assert channels == {Channel.IN_APP, Channel.EMAIL}


def test_sessions_tell_every_active_receptionist_and_thank_the_patient(
    confirmed, smith, receptionist, time_machine
):
    colleague = ReceptionistFactory()
    ReceptionistFactory(is_active=False)
    time_machine.move_to(at(TUESDAY, 9), tick=False)
    check_in(appointment=confirmed, by=receptionist)
    time_machine.move_to(TUESDAY_10, tick=False)

    session = open_and_start_session(appointment=confirmed, by=smith.user)
    complete_session(session=session, by=smith.user)

    for template, text in [
        ("reception_session_started", "Dr Smith started the session with Jane Doe."),
        ("reception_session_completed", "Dr Smith completed the session with Jane Doe."),
    ]:
        rows = messages(confirmed, template)
        assert {row.user for row in rows} == {receptionist, colleague}
        assert {row.body for row in rows} == {text}
    [thanks] = messages(confirmed, "session_completed")
    assert (thanks.channel, thanks.patient) == (Channel.SMS, confirmed.patient)


def test_a_doctor_without_a_login_gets_no_in_app_message(confirmed, smith, receptionist):
    smith.user = None
    smith.save()

    cancel_appointment(appointment=confirmed, reason="Doctor away", by=receptionist)

    assert messages(confirmed, "doctor_appointment_cancelled") == []


# --- Nothing twice, nothing for a change that did not happen ---------------------


def test_a_rolled_back_booking_queues_nothing_and_wakes_no_one(
    smith, jane, receptionist, django_capture_on_commit_callbacks
):
    queued_inside = []

    def book_then_fail() -> None:
        with transaction.atomic():
            book_appointment(
                patient=jane,
                doctor=smith,
                service=ServiceFactory(),
                starts_at=TUESDAY_10,
                booked_by=receptionist,
            )
            # With the database as the queue, the wake-up is a row of the change's
            # own transaction: there inside it, gone with it.
            queued_inside.append(OrmQ.objects.count())
            raise RuntimeError("the rest of the request failed")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        book_then_fail()

    assert queued_inside == [1]
    assert not OrmQ.objects.exists()
    assert not Notification.objects.exists()
    assert callbacks == []


def test_the_same_event_twice_queues_one_message(booked):
    signals.appointment_booked.send(Appointment, appointment=booked, by=None)
    signals.appointment_confirmed.send(Appointment, appointment=booked, by=None)
    signals.appointment_confirmed.send(Appointment, appointment=booked, by=None)

    assert [row.template for row in messages(booked)] == [
        "appointment_booked",
        "appointment_confirmed",
        "appointment_reminder",
        "appointment_reminder",
    ]


def test_a_committed_change_wakes_the_worker_once_per_message_due_now(
    smith, jane, receptionist, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book_appointment(
            patient=jane,
            doctor=smith,
            service=ServiceFactory(),
            starts_at=TUESDAY_10,
            booked_by=receptionist,
        )

    [task] = OrmQ.objects.all()
    assert task.task["func"] == "notifications.tasks.dispatch_due"

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        confirm_appointment(appointment=appointment, by=receptionist)
    # The confirmation is due now; the reminders are not, and wake no one. (With the
    # database as the queue, the wake-up is a row of the change's own transaction.)
    assert callbacks == []
    assert OrmQ.objects.count() == 2


def test_with_redis_as_the_queue_the_wake_up_waits_for_the_commit(
    smith, jane, receptionist, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(Conf, "ORM", None)  # As with Q_BROKER=redis.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        book_appointment(
            patient=jane,
            doctor=smith,
            service=ServiceFactory(),
            starts_at=TUESDAY_10,
            booked_by=receptionist,
        )
    assert len(callbacks) == 1
    assert not OrmQ.objects.exists()


def test_patient_texts_carry_nothing_clinical(confirmed, smith, receptionist, time_machine):
    """The service ("HIV test") and the doctor's note never reach the patient's phone."""
    time_machine.move_to(at(TUESDAY, 9), tick=False)
    check_in(appointment=confirmed, by=receptionist)
    time_machine.move_to(TUESDAY_10, tick=False)
    session = open_and_start_session(appointment=confirmed, by=smith.user)
    write_note(session=session, by=smith.user, assessment="Positive", plan="Antiretrovirals")
    complete_session(session=session, by=smith.user)

    texts = [row.body for row in confirmed.notifications.filter(channel=Channel.SMS)]
    assert len(texts) == 5
    for text in texts:
        for clinical in ("HIV", "test", "Positive", "Antiretrovirals"):
            assert clinical not in text


# --- Quiet hours ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(MONDAY, 12), at(MONDAY, 12)),
        (at(MONDAY, 20, 59), at(MONDAY, 20, 59)),
        (at(MONDAY, 21), at(TUESDAY, 8)),
        (at(MONDAY, 23, 30), at(TUESDAY, 8)),
        (at(TUESDAY, 7, 59), at(TUESDAY, 8)),
        (at(TUESDAY, 8), at(TUESDAY, 8)),
        # The night the clocks go back (1 November 2026): the morning is 08:00 EST.
        (at(date(2026, 10, 31), 22), at(date(2026, 11, 1), 8)),
    ],
)
def test_quiet_hours_defer_to_the_morning_in_clinic_time(moment, expected):
    assert outside_quiet_hours(moment) == expected
    assert outside_quiet_hours(moment).utcoffset() == expected.utcoffset()


def test_quiet_hours_can_be_turned_off_or_not_wrap_midnight(settings):
    settings.NOTIFICATIONS_QUIET_HOURS = ""
    assert outside_quiet_hours(at(MONDAY, 23)) == at(MONDAY, 23)

    settings.NOTIFICATIONS_QUIET_HOURS = "12:00-13:30"
    assert outside_quiet_hours(at(MONDAY, 12, 15)) == at(MONDAY, 13, 30)
    assert outside_quiet_hours(at(MONDAY, 13, 30)) == at(MONDAY, 13, 30)


def test_a_booking_late_in_the_evening_texts_the_next_morning(
    smith, jane, receptionist, time_machine
):
    time_machine.move_to(at(MONDAY, 22, 30), tick=False)

    appointment = book_appointment(
        patient=jane,
        doctor=smith,
        service=ServiceFactory(),
        starts_at=TUESDAY_10,
        booked_by=receptionist,
    )

    [text] = messages(appointment)
    assert (text.send_after, text.next_attempt_at) == (at(MONDAY, 22, 30), at(TUESDAY, 8))


def test_a_wake_up_the_database_refuses_leaves_the_change_whole(
    smith, jane, receptionist, monkeypatch, caplog
):
    def refused_by_the_database(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_queue_table")

    # The queue's INSERT fails inside the booking's transaction.
    monkeypatch.setattr(kernel_tasks, "async_task", refused_by_the_database)
    appointment = book_appointment(
        patient=jane,
        doctor=smith,
        service=ServiceFactory(),
        starts_at=TUESDAY_10,
        booked_by=receptionist,
    )
    assert "Could not queue dispatch notifications" in caplog.text
    # The savepoint took only the failed row: the booking and its text stand, and
    # the transaction goes on.
    assert Notification.objects.filter(appointment=appointment).exists()
    assert not OrmQ.objects.exists()
