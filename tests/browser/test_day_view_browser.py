"""Reception works the day view in a real browser: quick actions change the card in
place (htmx), a cancellation asks for its reason in the page's dialog, a no-show
asks for confirmation, and moving an appointment goes through the reschedule page."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from doctors.models import Weekday
from scheduling.models import Appointment, Status
from tests.clock import at
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    PatientFactory,
    ReceptionistFactory,
    ServiceFactory,
    with_working_hours,
)


def card(page: Page, appointment: Appointment):
    return page.get_by_test_id(f"appointment-{appointment.pk}")


def status_of(page: Page, appointment: Appointment):
    """The status badge on the appointment's card (its buttons say similar words)."""
    return card(page, appointment).locator(".badge")


def open_day(page: Page, moment: datetime) -> None:
    page.goto(f"{reverse('scheduling:day')}?date={timezone.localdate(moment).isoformat()}")


def test_quick_actions_confirm_check_in_and_cancel_in_place(log_in):
    # Today's: a patient is checked in only on the day of their appointment.
    appointment = AppointmentFactory(starts_at=at(timezone.localdate(), 9))
    to_cancel = AppointmentFactory(
        doctor=appointment.doctor, starts_at=appointment.starts_at + timedelta(hours=1)
    )
    page = log_in(ReceptionistFactory())
    open_day(page, appointment.starts_at)

    card(page, appointment).get_by_role("button", name="Confirm").click()
    expect(status_of(page, appointment)).to_have_text("Confirmed")
    card(page, appointment).get_by_role("button", name="Check in").click()
    expect(status_of(page, appointment)).to_have_text("Arrived")

    card(page, to_cancel).get_by_role("link", name="Cancel").click()
    dialog = page.get_by_test_id("cancel-dialog")
    dialog.get_by_label("Another reason").check()
    dialog.get_by_label("Details").fill("Patient is travelling")
    dialog.get_by_role("button", name="Cancel the appointment").click()
    expect(page.get_by_role("alert").filter(has_text="Cancelled: ")).to_be_visible()

    appointment.refresh_from_db()
    to_cancel.refresh_from_db()
    assert appointment.status == Status.ARRIVED
    assert appointment.arrived_at is not None
    assert (to_cancel.status, to_cancel.cancellation_reason) == (
        Status.CANCELLED,
        "Patient is travelling",
    )


def test_no_show_after_the_start_time_asks_first(log_in):
    started = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=20)
    appointment = AppointmentFactory(starts_at=started, status=Status.CONFIRMED)
    page = log_in(ReceptionistFactory())
    open_day(page, started)

    page.once("dialog", lambda dialog: dialog.accept())
    card(page, appointment).get_by_role("button", name="No-show").click()

    expect(status_of(page, appointment)).to_have_text("No-show")
    appointment.refresh_from_db()
    assert appointment.status == Status.NO_SHOW


def test_receptionist_moves_an_appointment_to_a_free_slot(log_in):
    doctor = DoctorFactory(family_name="Smith")
    with_working_hours(doctor, *Weekday, starts=time(9), ends=time(12))
    day = timezone.localdate() + timedelta(days=3)
    appointment = AppointmentFactory(
        doctor=doctor,
        patient=PatientFactory(given_name="Anna", family_name="Smithson"),
        service=ServiceFactory(duration_minutes=30),
        starts_at=at(day, 9),
    )
    page = log_in(ReceptionistFactory())
    open_day(page, appointment.starts_at)

    card(page, appointment).get_by_role("link", name="Move").click()
    page.get_by_role("button", name="11:00", exact=True).click()

    expect(page.get_by_role("alert")).to_contain_text(
        f"Moved: Anna Smithson with Dr Smith on {day:%a %d %b} at 11:00."
    )
    expect(page.get_by_text("Rescheduled")).to_be_visible()
    appointment.refresh_from_db()
    assert appointment.starts_at == at(day, 11)
