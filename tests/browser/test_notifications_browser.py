"""Notifications seen from the browser: confirming an appointment queues its
reminders and the worker sends them to Twilio (the local fake); checking a patient in
lights up the doctor's page."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from doctors.models import Weekday
from notifications.dispatch import dispatch_due
from notifications.models import Status
from scheduling.availability import clinic_zone
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    PatientFactory,
    ReceptionistFactory,
    with_working_hours,
)


def doctor_available_all_week():
    doctor = DoctorFactory(given_name="Alan", family_name="Smith")
    with_working_hours(doctor, *Weekday, starts=time(0), ends=time(23, 59))
    return doctor


def test_confirming_queues_reminders_that_the_worker_sends(
    signed_in, settings, fake_twilio, time_machine
):
    settings.NOTIFICATIONS_QUIET_HOURS = ""  # Whatever the hour CI runs at.
    # The day after tomorrow: its 24-hour reminder is still to come whatever the hour
    # CI runs at (tomorrow's 10:00 had it due at today's 10:00, already past).
    later = timezone.localtime().date() + timedelta(days=2)
    starts_at = datetime.combine(later, time(10), tzinfo=clinic_zone())
    appointment = AppointmentFactory(
        doctor=doctor_available_all_week(),
        patient=PatientFactory(given_name="Anna", phone="+12025550142"),
        starts_at=starts_at,
    )
    reception = signed_in(ReceptionistFactory())

    reception.goto(reverse("scheduling:detail", args=[appointment.pk]))
    reception.get_by_role("button", name="Confirm").click()
    expect(reception.get_by_role("alert")).to_contain_text("Confirmed")

    reminders = appointment.notifications.filter(template="appointment_reminder")
    assert sorted(reminders.values_list("send_after", flat=True)) == [
        starts_at - timedelta(hours=24),
        starts_at - timedelta(hours=2),
    ]
    dispatch_due()
    [confirmation] = fake_twilio.messages
    assert confirmation["To"] == "+12025550142"
    assert "is confirmed" in confirmation["Body"]

    for reminder in reminders.order_by("send_after"):
        time_machine.move_to(reminder.send_after, tick=False)
        dispatch_due()
        reminder.refresh_from_db()
        assert reminder.status == Status.SENT
        assert fake_twilio.messages[-1]["Body"] == reminder.body
    assert len(fake_twilio.messages) == 3


def test_checking_a_patient_in_lights_up_the_doctors_page(signed_in):
    doctor = doctor_available_all_week()
    appointment = AppointmentFactory(
        doctor=doctor,
        patient=PatientFactory(given_name="Anna", family_name="Smithson"),
        starts_at=timezone.now() + timedelta(minutes=5),
        status="confirmed",
    )
    doctor_page = signed_in(doctor.user)
    doctor_page.clock.install()  # The page's own clock, which the test moves on.
    doctor_page.goto(reverse("scheduling:my_day"))
    live_alerts = doctor_page.get_by_test_id("live-alerts")
    expect(live_alerts).not_to_contain_text("has arrived")

    reception = signed_in(ReceptionistFactory())
    reception.goto(reverse("scheduling:detail", args=[appointment.pk]))
    reception.get_by_role("button", name="Check in").click()
    expect(reception.get_by_role("alert")).to_contain_text("Checked in")
    dispatch_due()  # What the worker does on the commit's wake-up call.

    # The page polls every 10 seconds; nobody reloads it. Ten seconds pass on its
    # clock rather than the test's.
    doctor_page.clock.fast_forward(10 * 1000)
    expect(live_alerts).to_contain_text("Anna Smithson has arrived")
    expect(doctor_page.get_by_test_id("bell-count")).to_have_text("1")
