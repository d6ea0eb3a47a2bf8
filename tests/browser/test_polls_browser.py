"""The doctor's screen polling from a real browser: htmx's requests carry the
If-None-Match from Chromium's own cache, an unchanged poll gets 304 and the
fragment stays as it was, and a change shows on the next poll."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, Error, Page, Response, expect

from doctors.models import Weekday
from scheduling.models import Appointment, Status
from tests.browser.conftest import TIMEOUT_MS, sign_in
from tests.factories import AppointmentFactory, DoctorFactory, PatientFactory, with_working_hours

SHOTS = Path(__file__).resolve().parents[2] / "var" / "shots"


@pytest.fixture
def cached_page(browser: Browser, live_server) -> Iterator[Page]:
    """A context without request routing: Playwright turns the HTTP cache off in a
    context that routes requests (tests/browser/conftest.py routes the favicon), and
    the cache is what sends If-None-Match."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        # Chromium asks for /favicon.ico by itself once: let it finish before the test
        # goes on (see tests/browser/conftest.py's new_context).
        with page.expect_response("**/favicon.ico", timeout=5_000):
            page.goto(reverse("login"))
    except Error:
        pass
    yield page
    context.close()


def test_an_unchanged_poll_gets_304_and_a_change_shows_on_the_next(cached_page):
    doctor = DoctorFactory(given_name="Alan", family_name="Smith")
    with_working_hours(doctor, *Weekday, starts=time(0), ends=time(23, 59))
    appointment = AppointmentFactory(
        doctor=doctor,
        patient=PatientFactory(given_name="Anna", family_name="Smithson"),
        starts_at=timezone.now() + timedelta(minutes=5),
        status=Status.CONFIRMED,
    )
    page = sign_in(cached_page, doctor.user)
    page.clock.install()  # The page's own clock, which the test moves on.
    page.goto(reverse("scheduling:my_day"))
    my_day = page.locator("#my-day")
    expect(my_day).to_contain_text("Anna Smithson")
    expect(page.get_by_text("Nobody is waiting.")).to_be_visible()

    # Twenty seconds on the page's clock, twice: the first poll fills the cache, the
    # second is unchanged.
    first = next_poll(page)
    assert first.status == 200
    assert first.header_value("cache-control") == "private, no-cache"
    unchanged = next_poll(page)
    assert unchanged.request.header_value("if-none-match") == first.header_value("etag")
    assert answered_not_modified(unchanged, first)
    expect(my_day).to_contain_text("Anna Smithson")
    expect(page.get_by_text("Nobody is waiting.")).to_be_visible()
    page.screenshot(path=str(SHOTS / "polls-my-day-unchanged-wide.png"), full_page=True)

    Appointment.objects.filter(pk=appointment.pk).update(
        status=Status.ARRIVED, arrived_at=timezone.now()
    )
    changed = next_poll(page)
    assert changed.header_value("content-length") != "0"
    assert "Anna Smithson" in changed.text()
    expect(page.get_by_test_id("queue")).to_contain_text("Anna Smithson")
    expect(page.get_by_text("Nobody is waiting.")).to_have_count(0)
    # And again unchanged: 304, the queue stays.
    assert answered_not_modified(next_poll(page), changed)
    expect(page.get_by_test_id("queue")).to_contain_text("Anna Smithson")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / "polls-my-day-changed-narrow.png"), full_page=True)


def next_poll(page: Page) -> Response:
    """Moves the page's clock on by the list's 20 s and returns its poll's response."""
    with page.expect_response(lambda response: "/my-day/?date=" in response.url) as polled:
        page.clock.fast_forward(20 * 1000)
    response = polled.value
    response.finished()
    # htmx swaps and settles on timers of the page's clock: run them, so the new list
    # (an outerHTML swap) starts its own 20 s before the next move.
    page.wait_for_function("() => !document.querySelector('#my-day.htmx-request')")
    page.clock.run_for(1000)
    page.wait_for_function(
        "() => !document.querySelector('#my-day.htmx-settling, #my-day.htmx-swapping')"
    )
    return response


def answered_not_modified(response: Response, before: Response) -> bool:
    """Chromium hands a revalidated response to the page (and to Playwright) as the
    200 it had cached, with the 304's own headers: a fresh request id, and no body
    on the wire. The body the page swaps in is the cached one."""
    return (
        response.request.header_value("if-none-match") == before.header_value("etag")
        and response.header_value("x-request-id") != before.header_value("x-request-id")
        and response.header_value("content-length") == "0"
        and response.text() == before.text()
    )
