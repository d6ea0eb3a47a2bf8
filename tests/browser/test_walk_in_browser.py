"""The front desk in a real browser (issue 16): a walk-in booked from the day view
in one click and at once in the doctor's queue, and a mistaken check-in undone from
its card. The clinic's clock stands at Tuesday 1 December 2026, 10:07 in New York
(and runs on from there). Screenshots at a laptop's and a phone's size go to
var/screenshots/ (or $SCREENSHOTS_DIR), for a person to look at."""

from __future__ import annotations

import os
import re
from datetime import datetime, time
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import Page, expect

from doctors.models import Weekday
from scheduling.models import Appointment, AppointmentChange, Status
from tests.clock import NEW_YORK
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    PatientFactory,
    ReceptionistFactory,
    ServiceFactory,
    WorkingHoursFactory,
)

VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 12, 1, hour, minute, second, tzinfo=NEW_YORK)


@pytest.fixture(autouse=True)
def tuesday_morning(time_machine) -> None:
    # The clock runs (the pages and the live server read it), from a moment that
    # leaves the test the rest of the minute before "the next minute" moves on.
    time_machine.move_to(at(10, 7, 2), tick=True)


def screenshots_dir() -> Path:
    folder = Path(os.environ.get("SCREENSHOTS_DIR", settings.BASE_DIR / "var" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shoot(page: Page, name: str) -> None:
    """The page at each viewport, whole, then back to the laptop's size."""
    for size, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=screenshots_dir() / f"{name}-{size}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 768})


def working_every_day(doctor):
    for weekday in Weekday:
        WorkingHoursFactory(doctor=doctor, weekday=weekday, starts=time(9), ends=time(17))
    return doctor


def card(page: Page, appointment: Appointment):
    return page.get_by_test_id(f"appointment-{appointment.pk}")


def test_a_walk_in_from_the_day_view_is_in_the_doctors_queue_at_once(signed_in, time_machine):
    smith = working_every_day(
        DoctorFactory(
            given_name="Alan", family_name="Smith", user__first_name="Alan", user__last_name="Smith"
        )
    )
    working_every_day(DoctorFactory(given_name="Grace", family_name="Jones"))
    ServiceFactory(code="consult", name="Consultation", duration_minutes=30)
    AppointmentFactory(doctor=smith, starts_at=at(10), status=Status.IN_SESSION)
    anna = PatientFactory(given_name="Anna", family_name="Smithson")
    reception = signed_in(ReceptionistFactory(first_name="Rita", last_name="Owens"))
    # Starting the browser and signing in take their time on a busy machine: the clock
    # starts again here so that "the next free minute" below is still 10:08.
    time_machine.move_to(at(10, 7, 2), tick=True)
    reception.goto(reverse("scheduling:day"))

    reception.get_by_role("link", name="Walk-in", exact=True).click()
    reception.get_by_role("searchbox", name="Find the patient").fill("smithson")
    reception.get_by_role("button", name="Find", exact=True).click()
    shoot(reception, "walk-in-find")
    reception.get_by_role("link", name=re.compile("Anna Smithson")).click()
    # htmx listens for the doctor's change once the page has loaded; a person is slower.
    reception.wait_for_load_state()
    offer = reception.get_by_test_id("walk-in-when")
    # Any free doctor: Dr Smith is in a session until 10:30, Dr Jones is free now.
    expect(offer).to_contain_text("Anna Smithson will be seen at 10:08 by Dr Jones")
    reception.get_by_label("Doctor").select_option(label="Dr Smith")
    expect(offer).to_contain_text("Anna Smithson will be seen at 10:30 by Dr Smith")
    expect(offer).to_contain_text("In 23 minutes.")
    shoot(reception, "walk-in-offer")
    reception.get_by_role("button", name="Book and check in Anna Smithson").click()

    expect(reception).to_have_url(re.compile(re.escape(reverse("scheduling:day")) + "$"))
    expect(reception.get_by_role("alert")).to_contain_text(
        "Walk-in checked in: Anna Smithson with Dr Smith at 10:30."
    )
    walk_in = Appointment.objects.get(patient=anna)
    expect(card(reception, walk_in).locator(".badge")).to_have_text("Arrived")
    shoot(reception, "walk-in-day-view")
    assert (walk_in.doctor, walk_in.starts_at, walk_in.walk_in) == (smith, at(10, 30), True)
    card(reception, walk_in).get_by_role("link", name="Anna Smithson").click()
    history = reception.get_by_role("list").filter(has_text="Booked as a walk-in")
    expect(history).to_contain_text("Checked in")
    expect(reception.get_by_role("button", name="Undo check-in of Anna Smithson")).to_be_visible()
    shoot(reception, "walk-in-appointment")

    doctor = signed_in(smith.user)
    doctor.goto(reverse("scheduling:my_day"))
    expect(doctor.get_by_test_id("queue")).to_contain_text("Anna Smithson")


def test_a_mistaken_check_in_is_undone_from_its_card(signed_in):
    doctor = working_every_day(DoctorFactory(given_name="Alan", family_name="Smith"))
    mistaken = AppointmentFactory(
        doctor=doctor,
        patient=PatientFactory(given_name="Anna", family_name="Smithson"),
        starts_at=at(11),
        status=Status.CONFIRMED,
    )
    AppointmentFactory(
        doctor=doctor,
        patient=PatientFactory(given_name="Anne", family_name="Smithers"),
        starts_at=at(11, 30),
        status=Status.CONFIRMED,
    )
    reception = signed_in(ReceptionistFactory(first_name="Rita", last_name="Owens"))
    reception.goto(reverse("scheduling:day"))

    card(reception, mistaken).get_by_role("button", name="Check in").click()
    undo = card(reception, mistaken).get_by_role("button", name="Undo check-in of Anna Smithson")
    expect(undo).to_be_visible()
    shoot(reception, "undo-check-in-card")
    asked = []
    reception.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    undo.click()

    expect(card(reception, mistaken).locator(".badge")).to_have_text("Confirmed")
    expect(card(reception, mistaken).get_by_role("button", name="Check in")).to_be_visible()
    assert asked == [
        "Undo the check-in of Anna Smithson? Their doctor is told they are not waiting."
    ]
    mistaken.refresh_from_db()
    assert (mistaken.status, mistaken.arrived_at) == (Status.CONFIRMED, None)

    reception.goto(reverse("scheduling:detail", args=[mistaken.pk]))
    history = reception.get_by_role("list").filter(has_text="Check-in undone")
    expect(history).to_contain_text("Checked in")
    expect(history).to_contain_text("by Rita Owens")
    shoot(reception, "undo-check-in-history")
    assert list(mistaken.changes.values_list("action", flat=True)) == [
        AppointmentChange.Action.CHECKED_IN,
        AppointmentChange.Action.CHECK_IN_UNDONE,
    ]
