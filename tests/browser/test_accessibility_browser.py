"""axe-core (static/vendor/axe-core, from its npm package) over the main pages of
each role, the patient's pay page and the booking site, in English, Spanish and
Arabic: no serious or critical violation of WCAG 2.1 A/AA. And the Arabic day view
is right to left: the first doctor's column is on the right."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from doctors.models import Weekday
from online.services import manage_link
from payments.services import pay_link_token
from scheduling.models import Appointment, OnlineBooking, Status
from tests.browser.conftest import new_context
from tests.clock import at
from tests.factories import (
    TEST_PASSWORD,
    AppointmentFactory,
    DoctorFactory,
    InvoiceFactory,
    ManagerFactory,
    NotificationFactory,
    PatientFactory,
    ReceptionistFactory,
    with_working_hours,
)

AXE = static("vendor/axe-core/axe.min.js")
PAY_ES = "Pagar en línea"
# WCAG 2.1 A and AA: what US clinics funded by HHS must meet (Section 504 rule).
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
FAILING_IMPACTS = {"serious", "critical"}
LANGUAGES = ["en", "es", "ar"]


def serious_violations(page: Page) -> list[str]:
    """axe's serious and critical violations on the page as it is, one line each."""
    # A same-origin script, so the Content Security Policy lets it load.
    page.add_script_tag(url=AXE)
    violations = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in violations
        if v["impact"] in FAILING_IMPACTS
    ]


def choose_language(page: Page, language: str) -> None:
    """Through the chooser on the page (the nav's, or the pay page's own)."""
    if language == "en":
        return
    page.locator("select[name=language]").first.select_option(language)
    page.locator("[data-language-form] button").first.click()
    expect(page.locator("html")).to_have_attribute("lang", language)


def check(page: Page, path: str, failures: list[str]) -> None:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    failures.extend(f"{path}: {line}" for line in serious_violations(page))


@pytest.fixture
def clinic_today():
    """Two doctors working today, a day of appointments in every status, an invoice."""
    today = timezone.localdate()
    weekday = Weekday(today.weekday())
    smith = with_working_hours(
        DoctorFactory(given_name="Alan", family_name="Smith"),
        weekday,
        starts=time(8),
        ends=time(18),
    )
    jones = with_working_hours(
        DoctorFactory(given_name="Grace", family_name="Jones"),
        weekday,
        starts=time(8),
        ends=time(18),
    )
    siobhan = PatientFactory(given_name="Siobhán", family_name="D'Arcy", phone="+12025550161")
    statuses = [Status.BOOKED, Status.CONFIRMED, Status.ARRIVED, Status.CANCELLED]
    for hour, status in enumerate(statuses, start=9):
        AppointmentFactory(
            doctor=smith,
            patient=siobhan if hour == 9 else PatientFactory(),
            starts_at=at(today, hour),
            status=status,
        )
        AppointmentFactory(doctor=jones, starts_at=at(today, hour, 30), status=status)
    AppointmentFactory(doctor=jones, starts_at=at(today, 14), status=Status.IN_SESSION)
    for status in ["pending", "sent", "delivered", "failed", "skipped"]:
        NotificationFactory(patient=siobhan, status=status)
    invoice = InvoiceFactory(session__doctor=smith, session__patient=siobhan)
    first = Appointment.objects.filter(patient=siobhan, doctor=smith).order_by("starts_at").first()
    return {"smith": smith, "siobhan": siobhan, "invoice": invoice, "appointment": first}


@pytest.mark.parametrize("language", LANGUAGES)
def test_reception_pages_have_no_serious_violation(log_in, clinic_today, language):
    page = log_in(ReceptionistFactory())
    choose_language(page, language)
    siobhan, invoice = clinic_today["siobhan"], clinic_today["invoice"]
    failures: list[str] = []

    for path in [
        reverse("home"),
        reverse("scheduling:day"),
        reverse("scheduling:book"),
        reverse("scheduling:walk_in"),
        reverse("scheduling:rebooking"),
        reverse("scheduling:detail", args=[clinic_today["appointment"].pk]),
        reverse("scheduling:reschedule", args=[clinic_today["appointment"].pk]),
        reverse("patients:list") + "?q=darcy",
        reverse("patients:detail", args=[siobhan.pk]),
        reverse("patients:create"),
        reverse("payments:invoices"),
        reverse("payments:invoice", args=[invoice.pk]),
        reverse("notifications:outbox"),
        reverse("doctors:list"),
        reverse("waitlist:list"),
    ]:
        check(page, path, failures)

    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("language", LANGUAGES)
def test_doctor_pages_have_no_serious_violation(log_in, clinic_today, language):
    smith, siobhan = clinic_today["smith"], clinic_today["siobhan"]
    page = log_in(smith.user)
    choose_language(page, language)
    failures: list[str] = []

    for path in [
        reverse("home"),
        reverse("scheduling:my_day"),
        reverse("records:chart", args=[siobhan.pk]),
        reverse("notifications:inbox"),
    ]:
        check(page, path, failures)

    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("language", LANGUAGES)
def test_manager_pages_have_no_serious_violation(log_in, clinic_today, language):
    page = log_in(ManagerFactory())
    choose_language(page, language)
    failures: list[str] = []

    for path in [reverse("home"), reverse("payments:cash_up"), reverse("scheduling:day")]:
        check(page, path, failures)

    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_pay_page_has_no_serious_violation(page, settings, clinic_today, language):
    settings.STRIPE_SECRET_KEY = "sk_test_accessibility"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_accessibility"
    path = reverse("payments:pay", args=[pay_link_token(clinic_today["invoice"])])
    page.goto(path)
    choose_language(page, language)
    failures: list[str] = []

    check(page, path, failures)

    assert failures == [], "\n".join(failures)
    expect(
        page.get_by_role(
            "button", name={"en": "Pay online", "es": PAY_ES, "ar": "الدفع عبر الإنترنت"}[language]
        )
    ).to_be_visible()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_booking_site_has_no_serious_violation(page, clinic_today, language):
    """Every step a patient sees: the clinic, a service's week, the waitlist form, the
    details and the code, their personal link, a waitlist offer, an unknown link."""
    smith = clinic_today["smith"]
    smith.bookable_online = True
    smith.save()
    # Late in the day today's times have all passed the booking notice: tomorrow too.
    with_working_hours(smith, Weekday((timezone.localdate() + timedelta(days=1)).weekday()))
    service = clinic_today["appointment"].service
    service.online_booking = OnlineBooking.ANYONE
    service.save()
    link = manage_link(clinic_today["appointment"]).rstrip("/").rsplit("/", 1)[1]
    page.goto(reverse("online:home"))
    choose_language(page, language)
    failures: list[str] = []

    for path in [
        reverse("online:home"),
        reverse("online:service", args=[service.code]),
        reverse("online:waitlist", args=[service.code]),
        reverse("online:manage", args=[link]),
        reverse("online:move", args=[link]),
        reverse("online:cancel", args=[link]),
        reverse("online:manage", args=["Unknown234"]),
    ]:
        check(page, path, failures)
    # The details and the code, after choosing the first free time.
    page.goto(reverse("online:service", args=[service.code]))
    page.locator("button[name=time]").first.click()
    check(page, reverse("online:details", args=[service.code]), failures)

    assert failures == [], "\n".join(failures)


def test_the_sign_in_page_has_no_serious_violation_in_arabic(page):
    page.goto(reverse("login"))
    choose_language(page, "ar")
    failures: list[str] = []

    check(page, reverse("login"), failures)

    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_arabic_day_view_runs_right_to_left(browser, live_server, clinic_today, width):
    context = new_context(browser, live_server)
    context.set_extra_http_headers({"Accept-Language": "ar"})
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    try:
        receptionist = ReceptionistFactory()
        page.goto(reverse("login"))
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        page.locator("input[name=username]").fill(receptionist.username)
        page.locator("input[name=password]").fill(TEST_PASSWORD)
        page.locator("form:not([data-language-form]) button[type=submit]").click()
        page.goto(reverse("scheduling:day"))

        heads = page.locator(".doctor-head")
        expect(heads.first).to_be_visible()
        first, second = heads.nth(0).bounding_box(), heads.nth(1).bounding_box()
        rail = page.locator(".time-rail-labels").bounding_box()
        assert first is not None
        assert second is not None
        assert rail is not None
        # The time rail at the right edge, then the first doctor, the second to its left.
        assert rail["x"] > first["x"] > second["x"]
        page.screenshot(path=f"/tmp/day-view-ar-{width}.png", full_page=False)
    finally:
        context.close()
