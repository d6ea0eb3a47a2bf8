"""The day view's grid in a real browser, on a busy day: a 15-minute card keeps its
actions in a menu that works by mouse and by keyboard, a click on free time books
that time (doctor and time filled in), and cancelling asks its reason in a dialog
of the page. Screenshots of the busy day, the week and the dialog, wide and
narrow, go to var/shots/."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from doctors.models import Doctor, Weekday
from scheduling.models import Appointment, Status
from tests.browser.conftest import TIMEOUT_MS, sign_in
from tests.browser.test_csp_browser import REPORT_VIOLATIONS, is_violation
from tests.clock import at
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    PatientFactory,
    ReceptionistFactory,
    ServiceFactory,
    TimeOffFactory,
    WorkingHoursFactory,
)

SHOTS = Path(__file__).resolve().parents[2] / "var" / "shots"
WIDE, NARROW = {"width": 1366, "height": 900}, {"width": 390, "height": 844}


def screenshots(page: Page, name: str, reload: bool = False) -> None:
    """Wide and narrow; `reload` loads the page again at each width, as a phone would
    (for what the page does once on loading, such as scrolling to a day)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("wide", WIDE), ("narrow", NARROW)):
        page.set_viewport_size(size)
        if reload:
            page.reload()
        page.screenshot(path=SHOTS / f"{name}-{label}.png", full_page=True)
    page.set_viewport_size(WIDE)


def tomorrow() -> date:
    # Not today: the scene must not depend on the hour the tests run at.
    return timezone.localdate() + timedelta(days=1)


def doctor_working(family_name: str, day: date, *hours: tuple[int, int]) -> Doctor:
    doctor = DoctorFactory(family_name=family_name)
    for starts, ends in hours:
        WorkingHoursFactory(
            doctor=doctor, weekday=Weekday(day.weekday()), starts=time(starts), ends=time(ends)
        )
    return doctor


@pytest.fixture
def busy_day() -> dict:
    """Tomorrow: Dr Short sees 10- and 15-minute visits back to back all morning,
    breaks for lunch and is away in the late afternoon; Dr Long has half-hour and
    hour visits and free time."""
    day = tomorrow()
    short = doctor_working("Short", day, (9, 12), (13, 17))
    long = doctor_working("Long", day, (8, 16))
    TimeOffFactory(doctor=short, starts_at=at(day, 15), ends_at=at(day, 17), reason="Training")
    quick = ServiceFactory(code="jab", name="Vaccination", duration_minutes=10)
    check = ServiceFactory(code="check", name="Blood pressure check", duration_minutes=15)
    consult = ServiceFactory(code="consult", name="Consultation", duration_minutes=30)
    visit = ServiceFactory(code="long", name="Full examination", duration_minutes=60)
    names = [
        ("Anna", "Smithson"), ("Bartholomew", "Featherstonehaugh"), ("Chen", "Li"),
        ("Dolores", "Abernathy-Whitfield"), ("Emeka", "Okafor"), ("Fatima", "Zahra"),
        ("Gus", "Ng"), ("Hannah", "Kowalczyk"), ("Ivan", "Petrov"), ("Jo", "Baker"),
        ("Kai", "Müller"), ("Lena", "Ortiz"), ("Mo", "Salah"), ("Nia", "Jones"),
    ]  # fmt: skip
    starts = at(day, 9)
    cards = []
    for index, (given, family) in enumerate(names):
        service = quick if index % 2 else check
        cards.append(
            AppointmentFactory(
                doctor=short,
                patient=PatientFactory(given_name=given, family_name=family),
                service=service,
                starts_at=starts,
                status=Status.CONFIRMED if index % 3 == 0 else Status.BOOKED,
            )
        )
        starts += timedelta(minutes=service.duration_minutes)
    long_cards = [
        AppointmentFactory(doctor=long, service=service, starts_at=at(day, hour))
        for hour, service in ((8, consult), (9, visit), (11, consult), (14, visit))
    ]
    return {"day": day, "short": short, "long": long, "cards": cards, "long_cards": long_cards}


def open_day(page: Page, day: date) -> None:
    page.goto(f"{reverse('scheduling:day')}?date={day.isoformat()}")


def card(page: Page, appointment: Appointment):
    return page.get_by_test_id(f"appointment-{appointment.pk}")


def test_a_15_minute_cards_actions_open_from_its_menu_by_mouse(log_in, busy_day):
    appointment = busy_day["cards"][2]  # 15 minutes, booked
    page = log_in(ReceptionistFactory())
    open_day(page, busy_day["day"])
    screenshots(page, "day-busy")

    the_card = card(page, appointment)
    expect(the_card).to_have_class("appointment-card status-booked compact")
    menu_button = the_card.get_by_role("button", name="Actions for Chen Li")
    expect(menu_button).to_be_visible()
    confirm = the_card.get_by_role("button", name="Confirm")
    expect(confirm).to_be_hidden()

    menu_button.click()
    expect(confirm).to_be_visible()
    expect(the_card.get_by_role("link", name="Cancel")).to_be_visible()
    expect(the_card.get_by_role("link", name="Move")).to_be_visible()
    # Not clipped by the card's small cell: the whole menu is on the screen.
    menu = the_card.locator(".dropdown-menu")
    box, cell = menu.bounding_box(), the_card.bounding_box()
    assert box
    assert cell
    assert box["height"] > cell["height"] * 2
    assert page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('.dropdown-menu') !== null",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] - 4],
    )
    screenshots(page, "day-busy-menu")

    confirm.click()
    expect(card(page, appointment).locator(".badge")).to_have_text("Confirmed")
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED


def test_a_15_minute_cards_actions_work_by_keyboard(log_in, busy_day):
    appointment = busy_day["cards"][4]  # 15 minutes, booked
    page = log_in(ReceptionistFactory())
    open_day(page, busy_day["day"])

    the_card = card(page, appointment)
    menu_button = the_card.get_by_role("button", name="Actions for Emeka Okafor")
    the_card.get_by_role("link", name="Emeka Okafor").focus()
    page.keyboard.press("Tab")
    expect(menu_button).to_be_focused()

    page.keyboard.press("Enter")
    confirm = the_card.get_by_role("button", name="Confirm")
    expect(confirm).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(confirm).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(the_card.get_by_role("link", name="Move")).to_be_focused()
    page.keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    expect(menu_button).to_be_focused()

    page.keyboard.press("Space")
    expect(confirm).to_be_visible()
    page.keyboard.press("Tab")
    expect(confirm).to_be_focused()
    page.keyboard.press("Enter")

    expect(card(page, appointment).locator(".badge")).to_have_text("Confirmed")
    # The card is new; the focus is on its menu button again.
    expect(menu_button).to_be_focused()
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED


def test_a_click_on_free_time_books_that_time_with_that_doctor(log_in, busy_day):
    day, long = busy_day["day"], busy_day["long"]
    page = log_in(ReceptionistFactory())
    open_day(page, day)

    # Dr Long is free from 10:00 to 11:00; the click lands a third of the way in.
    free = page.get_by_role(
        "link", name=f"Book from 10:00 with Dr Long on {day:%a} {day.day} {day:%b}"
    )
    box = free.bounding_box()
    assert box
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.4)

    expect(page).to_have_url(
        f"{reverse('scheduling:book')}?doctor={long.pk}&date={day.isoformat()}&time=10:15"
    )
    expect(page.get_by_label("Doctor")).to_have_value(str(long.pk))
    expect(page.get_by_label("Date")).to_have_value(day.isoformat())
    expect(page.get_by_label("Time")).to_have_value("10:15")
    screenshots(page, "book-from-free-time")

    # The patient is found and chosen: the doctor, date and time stay.
    patient = PatientFactory(given_name="Olga", family_name="Ivanova")
    page.get_by_label("Find the patient").fill("Ivanova")
    page.get_by_role("button", name="Find").click()
    page.get_by_role("link", name="Olga Ivanova").click()
    page.get_by_role("button", name="Book at this time").click()

    expect(page.get_by_role("alert")).to_contain_text("Booked: Olga Ivanova with Dr Long")
    booked = Appointment.objects.get(patient=patient)
    assert (booked.doctor, booked.starts_at) == (long, at(day, 10, 15))


def test_free_time_is_reached_by_keyboard_and_books_its_start(log_in, busy_day):
    day, long = busy_day["day"], busy_day["long"]
    page = log_in(ReceptionistFactory())
    open_day(page, day)

    free = page.get_by_role(
        "link", name=f"Book from 11:30 with Dr Long on {day:%a} {day.day} {day:%b}"
    )
    free.focus()
    page.keyboard.press("Enter")

    expect(page).to_have_url(
        f"{reverse('scheduling:book')}?doctor={long.pk}&date={day.isoformat()}&time=11:30"
    )


def test_cancelling_asks_the_reason_in_a_dialog_of_the_page(log_in, busy_day):
    appointment = busy_day["cards"][1]  # 10 minutes
    page = log_in(ReceptionistFactory())
    open_day(page, busy_day["day"])
    prompts: list[str] = []
    page.on("dialog", lambda dialog: (prompts.append(dialog.message), dialog.dismiss()))

    menu_button = card(page, appointment).get_by_role("button", name="Actions for Bartholomew")
    menu_button.click()
    card(page, appointment).get_by_role("link", name="Cancel").click()
    dialog = page.get_by_test_id("cancel-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Bartholomew Featherstonehaugh · 09:15–09:25")
    screenshots(page, "day-cancel-dialog")

    # Escape keeps the appointment, and the focus goes back to its menu button.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(menu_button).to_be_focused()

    menu_button.click()
    card(page, appointment).get_by_role("link", name="Cancel").click()
    # No reason: said, and nothing is sent.
    dialog.get_by_role("button", name="Cancel the appointment").click()
    expect(dialog.get_by_text("Say why the appointment is cancelled.")).to_be_visible()
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED

    dialog.get_by_label("The patient asked").check()
    dialog.get_by_label("Details").fill("Moving house")
    dialog.get_by_role("button", name="Cancel the appointment").click()

    expect(page.get_by_role("alert").filter(has_text="Cancelled: ")).to_be_visible()
    expect(page.get_by_text("Cancelled and no-shows · Dr Short")).to_be_visible()
    assert prompts == []  # never the browser's prompt()
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    assert appointment.cancellation_reason == "The patient asked: Moving house"


def test_the_cancel_page_without_javascript_refuses_an_empty_reason(browser, live_server, busy_day):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    page = sign_in(context.new_page(), ReceptionistFactory())
    appointment = busy_day["long_cards"][2]  # half an hour: its buttons in the card
    open_day(page, busy_day["day"])
    # Without JavaScript the card's Cancel is a link to the cancel page.
    card(page, appointment).get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", name="Cancel the appointment")).to_be_visible()
    screenshots(page, "cancel-page")

    page.get_by_role("button", name="Cancel the appointment").click()
    expect(page.get_by_role("alert")).to_contain_text("Say why the appointment is cancelled.")
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED

    page.get_by_label("Booked in error").check()
    page.get_by_role("button", name="Cancel the appointment").click()
    expect(page.get_by_text("Cancelled and no-shows · Dr Long")).to_be_visible()
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancellation_reason) == (
        Status.CANCELLED,
        "Booked in error",
    )
    context.close()


def test_the_week_of_a_doctor_from_the_day_view(log_in, busy_day):
    day, short = busy_day["day"], busy_day["short"]
    page = log_in(ReceptionistFactory())
    open_day(page, day)

    page.get_by_role("link", name="Dr Short", exact=True).click()
    expect(page).to_have_url(f"{reverse('scheduling:week')}?doctor={short.pk}&date={day}")

    expect(page.get_by_role("heading", level=1)).to_contain_text("Dr Short")
    first = busy_day["cards"][0]
    expect(card(page, first)).to_be_visible()
    expect(page.get_by_test_id("time-off").first).to_contain_text("Time off · Training")
    screenshots(page, "week", reload=True)
    page.get_by_role("link", name="Next week").click()
    monday = day - timedelta(days=day.weekday()) + timedelta(days=7)
    expect(page).to_have_url(f"{reverse('scheduling:week')}?doctor={short.pk}&date={monday}")


def test_the_grid_menu_dialog_and_week_keep_to_the_content_security_policy(
    page: Page, log_in, busy_day
):
    seen: list[str] = []
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda message: seen.append(f"{page.url}: {message.text}"))
    log_in(ReceptionistFactory())
    open_day(page, busy_day["day"])
    appointment = busy_day["cards"][0]
    card(page, appointment).get_by_role("button", name="Actions for Anna Smithson").click()
    card(page, appointment).get_by_role("link", name="Cancel").click()
    expect(page.get_by_test_id("cancel-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    page.goto(f"{reverse('scheduling:week')}?doctor={busy_day['short'].pk}&date={busy_day['day']}")
    expect(card(page, appointment)).to_be_visible()
    page.goto(reverse("scheduling:cancel", args=[appointment.pk]))
    page.wait_for_load_state("load")

    assert [line for line in seen if is_violation(line)] == []


def test_the_line_of_the_current_time_is_on_todays_grid(log_in):
    doctor = DoctorFactory(family_name="Early")
    for weekday in Weekday:
        WorkingHoursFactory(doctor=doctor, weekday=weekday, starts=time(0), ends=time(23, 59))
    page = log_in(ReceptionistFactory())
    before = timezone.localtime()
    open_day(page, timezone.localdate())

    line = page.get_by_test_id("now-line")
    expect(line).to_be_attached()
    line.scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "day-now-line-wide.png")
    now = timezone.localtime()
    row = int(line.evaluate("line => getComputedStyle(line).gridRowStart"))
    # The grid opens at midnight, a row a minute: the minute the page was drawn, which
    # lies between the one before opening it and the one now (the JS may have moved it
    # on a minute since).
    first, last = before.hour * 60 + before.minute, now.hour * 60 + now.minute
    assert first <= row - 2 <= last + 1
    assert line.evaluate("line => getComputedStyle(line).gridColumnStart") == "2"
