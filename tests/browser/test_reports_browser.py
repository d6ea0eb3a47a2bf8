"""The manager's dashboard and reports in the browser, each with its chart, and
reception closing the day's cash-up; screenshots wide and narrow go to var/shots/."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from time_machine import escape_hatch

from tests import report_scene
from tests.browser import test_csp_browser as csp
from tests.factories import ManagerFactory

SHOTS = Path(__file__).resolve().parents[2] / "var" / "shots"
WIDE, NARROW = {"width": 1366, "height": 900}, {"width": 390, "height": 844}
NOVEMBER = "preset=custom&first=2026-11-01&last=2026-11-30"
REPORTS = {
    "attendance": f"{NOVEMBER}&group=doctor",
    "utilisation": "preset=custom&first=2026-11-01&last=2026-11-14&group=day",
    "takings": f"{NOVEMBER}&group=day",
    "takings-by-service": f"{NOVEMBER}&group=service",
    "receivables": "as_of=2026-11-30",
    "messages": NOVEMBER,
}


def screenshots(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("wide", WIDE), ("narrow", NARROW)):
        page.set_viewport_size(size)
        page.screenshot(path=SHOTS / f"reports-{name}-{label}.png", full_page=True)
    page.set_viewport_size(WIDE)


@pytest.fixture
def scene(time_machine, smith, jones, jane, bob, consultation, receptionist):
    # The hand-made November, then the clock runs again (sessions and cookies need
    # real time).
    built = report_scene.build(
        time_machine,
        smith=smith,
        jones=jones,
        jane=jane,
        bob=bob,
        consultation=consultation,
        manager=ManagerFactory(username="books"),
    )
    time_machine.move_to(escape_hatch.datetime.datetime.now(tz=UTC), tick=True)
    return built


def test_the_manager_opens_the_dashboard_and_each_report_with_its_chart(scene, log_in):
    manager = ManagerFactory(first_name="Maria", last_name="Lopez")
    page = log_in(manager)
    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Open invoices")).to_be_visible()
    expect(page.get_by_test_id("open-invoices")).to_have_text("2")
    screenshots(page, "dashboard")
    for name, query in REPORTS.items():
        page.goto(f"/admin/reports/{name.split('-')[0]}/?{query}")
        chart = page.locator("svg.report-chart").first
        expect(chart).to_be_visible()
        assert chart.locator("rect").count() > 0
        expect(page.locator("table.report-table").first).to_be_visible()
        # On a laptop's screen every table shows whole, with no sideways scrolling.
        overflowing = page.locator(".report-table-wrap").evaluate_all(
            "wraps => wraps.filter(w => w.scrollWidth > w.clientWidth).length"
        )
        assert overflowing == 0, name
        screenshots(page, name)
    page.goto("/admin/reports/receivables/?as_of=2026-11-30&older_than=60")
    expect(page.locator("table.report-table").last).to_contain_text("Jane Doe")
    expect(page.locator("table.report-table").last).not_to_contain_text("Bob Brown")


def test_reception_closes_its_cash_up(log_in, receptionist):
    page = log_in(receptionist)
    page.get_by_role("link", name="Cash-up").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cash-up of Rita Owens")
    page.get_by_label("Cash counted").fill("0")
    page.get_by_label("Note").fill("Quiet day")
    screenshots(page, "cash-up-open")
    page.get_by_role("button", name="Close the day", exact=True).click()
    expect(page.get_by_test_id("confirm-close")).to_contain_text("a difference of")
    screenshots(page, "cash-up-confirm")
    page.get_by_role("button", name="Yes, close the day").click()
    expect(page.get_by_test_id("closed")).to_contain_text("Closed by Rita Owens")
    screenshots(page, "cash-up-closed")


@pytest.fixture
def violations(page: Page) -> list[str]:
    """What the console says about refused content (as tests/browser/test_csp_browser.py)."""
    seen: list[str] = []
    page.add_init_script(csp.REPORT_VIOLATIONS)
    page.on("console", lambda message: seen.append(f"{page.url}: {message.text}"))
    return seen


def test_the_reports_break_no_rule_of_the_policy(scene, log_in, violations):
    page = log_in(ManagerFactory(first_name="Maria", last_name="Lopez"))
    for url in [
        "/admin/",
        "/admin/reports/",
        *(f"/admin/reports/{slug}/?{query}" for slug, query in REPORTS.items()),
        "/payments/cash-up/",
    ]:
        page.goto(url)
        page.wait_for_load_state("load")
    assert csp.refused(violations) == []


def test_an_extreme_day_and_a_refused_cash_up_day_get_a_message(log_in, receptionist):
    manager = ManagerFactory(first_name="Maria", last_name="Lopez")
    page = log_in(manager)
    page.goto("/admin/reports/takings/?preset=custom&first=9999-12-31&last=9999-12-31")
    expect(page.locator(".errorlist").first).to_contain_text("Choose a day between 1900-01-01")
    assert page.locator("table.report-table").count() == 0
    screenshots(page, "extreme-day")
    page.goto(f"/payments/cash-up/?day=3026-01-01&user={receptionist.pk}")
    page.get_by_label("Cash counted").fill("0")
    page.get_by_role("button", name="Close the day").click()
    expect(page.get_by_text("Nothing was closed")).to_be_visible()
    expect(page.locator('input[type="hidden"][name="user"]')).to_have_value(str(receptionist.pk))
    screenshots(page, "cash-up-refused-day")
