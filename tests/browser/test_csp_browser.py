"""The pages keep to their Content Security Policy in a real browser (Chromium
reports each refused script, style or handler), the day view still lays out its grid
without inline styles, and an idle session warns before it ends."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from clinic.models import StaffSession as Session
from doctors.models import Weekday
from notifications.models import Channel
from payments.services import pay_link_token
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    InvoiceFactory,
    ManagerFactory,
    NotificationFactory,
    PatientFactory,
    ReceptionistFactory,
    SessionFactory,
    with_working_hours,
)
from tests.fakes import stripe as stripe_fake

# Every violation also reaches the console through this listener, whatever Chromium
# itself logs. Playwright adds init scripts outside the page's policy.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
});
"""


def is_violation(text: str) -> bool:
    return "Refused to" in text or "Content Security Policy" in text or "CSP violation" in text


@pytest.fixture
def violations(page: Page) -> list[str]:
    """What the page's console says about refused content, for the whole test."""
    seen: list[str] = []
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda message: seen.append(f"{page.url}: {message.text}"))
    return seen


def refused(violations: list[str]) -> list[str]:
    return [line for line in violations if is_violation(line)]


def visit(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")


@pytest.fixture
def clinic_day():
    """A doctor working all day today, with a patient booked now and a finished
    visit with its invoice."""
    doctor = DoctorFactory(given_name="Alan", family_name="Smith")
    with_working_hours(doctor, *Weekday, starts=time(0), ends=time(23, 59))
    patient = PatientFactory(given_name="Anna", family_name="Smithson")
    this_hour = timezone.localtime().replace(minute=0, second=0, microsecond=0)
    appointment = AppointmentFactory(doctor=doctor, patient=patient, starts_at=this_hour)
    visit = SessionFactory(doctor=doctor, patient=patient, completed=True)
    return {
        "doctor": doctor,
        "patient": patient,
        "appointment": appointment,
        "invoice": InvoiceFactory(session=visit),
    }


def test_reception_pages_break_no_rule_of_the_policy(log_in, violations, clinic_day):
    receptionist = ReceptionistFactory()
    NotificationFactory(user=receptionist, patient=None, channel=Channel.IN_APP)
    page = log_in(receptionist)

    for url in [
        reverse("home"),
        reverse("scheduling:day"),
        reverse("scheduling:book"),
        reverse("patients:list"),
        reverse("patients:detail", args=[clinic_day["patient"].pk]),
        reverse("notifications:inbox"),
        reverse("notifications:outbox"),
        reverse("payments:invoices"),
        reverse("payments:invoice", args=[clinic_day["invoice"].pk]),
    ]:
        visit(page, url)

    assert refused(violations) == []


def test_doctor_pages_break_no_rule_of_the_policy(log_in, violations, clinic_day):
    page = log_in(clinic_day["doctor"].user)

    for url in [
        reverse("home"),
        reverse("scheduling:my_day"),
        reverse("patients:list"),
        reverse("patients:detail", args=[clinic_day["patient"].pk]),
        reverse("records:chart", args=[clinic_day["patient"].pk]),
        reverse("notifications:inbox"),
    ]:
        visit(page, url)
    # My day's live alerts arrive by htmx once the page has loaded.
    visit(page, reverse("scheduling:my_day"))
    expect(page.get_by_test_id("live-alerts")).to_be_attached()
    page.wait_for_load_state("networkidle")

    assert refused(violations) == []


def test_the_day_grid_is_laid_out_and_htmx_swaps_keep_to_the_policy(log_in, violations, clinic_day):
    appointment = clinic_day["appointment"]
    page = log_in(ReceptionistFactory())
    visit(page, reverse("scheduling:day"))

    cell = page.get_by_test_id(f"appointment-{appointment.pk}").locator("..")
    row = cell.get_attribute("data-grid-row")
    assert cell.evaluate("cell => getComputedStyle(cell).gridRowStart") == row
    assert cell.evaluate("cell => getComputedStyle(cell).gridColumnStart") == "2"

    page.get_by_test_id(f"appointment-{appointment.pk}").get_by_role(
        "button", name="Confirm"
    ).click()
    expect(page.get_by_test_id(f"appointment-{appointment.pk}").locator(".badge")).to_have_text(
        "Confirmed"
    )
    assert cell.evaluate("cell => getComputedStyle(cell).gridRowStart") == row
    assert refused(violations) == []


def test_admin_and_api_docs_break_no_rule_of_the_policy(log_in, violations, clinic_day):
    page = log_in(ManagerFactory())

    for url in [
        reverse("admin:index"),
        reverse("admin:patients_patient_changelist"),
        reverse("admin:patients_patient_change", args=[clinic_day["patient"].pk]),
        reverse("admin:auth_user_add"),
    ]:
        visit(page, url)
    visit(page, "/api/v1/docs")
    expect(page.get_by_role("heading", name=re.compile("Clinic API"))).to_be_visible()

    assert refused(violations) == []


def test_the_patient_goes_on_from_the_pay_page_to_stripe(
    page: Page, violations, fake_stripe, monkeypatch
):
    # Stripe's own checkout address, which the policy names; the browser never
    # leaves this machine: the route below answers for Stripe.
    monkeypatch.setattr(stripe_fake, "CHECKOUT_HOST", "https://checkout.stripe.com")
    page.route(
        "https://checkout.stripe.com/**",
        lambda route: route.fulfill(content_type="text/html", body="<h1>Stripe Checkout</h1>"),
    )
    invoice = InvoiceFactory()

    visit(page, reverse("payments:pay", args=[pay_link_token(invoice)]))
    page.get_by_role("button", name="Pay online").click()

    expect(page).to_have_url(re.compile(r"^https://checkout\.stripe\.com/c/pay/"))
    assert refused(violations) == []


def test_the_listener_does_see_a_violation(log_in, violations):
    """The tests above would pass on a deaf listener; this one shows it hears."""
    page = log_in(ReceptionistFactory())

    with page.expect_console_message(lambda message: is_violation(message.text)):
        page.evaluate(
            "document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')"
        )

    assert refused(violations) != []


# --- Idle sessions -----------------------------------------------------------------


def test_an_idle_session_warns_then_goes_to_sign_in(page: Page, log_in: Callable, settings):
    settings.SESSION_COOKIE_AGE = 130  # Seconds; the warning comes 2 minutes before.
    page.clock.install()
    log_in(ReceptionistFactory())
    page.wait_for_load_state("load")  # session-timeout.js has started counting.
    warning = page.get_by_role("alert").filter(has_text="You will be signed out")
    expect(warning).to_have_count(0)

    page.clock.fast_forward(11 * 1000)
    expect(warning).to_have_text(re.compile(r"You will be signed out in 2 minutes\."))

    with page.expect_response(re.compile(re.escape(reverse("keepalive")) + "$")) as kept:
        page.get_by_role("button", name="Stay signed in").click()
    assert kept.value.status == 204
    expect(warning).to_have_count(0)

    # The server forgets the session when its idle time is up (here, at once).
    Session.objects.all().delete()
    page.clock.fast_forward(131 * 1000)

    expect(page).to_have_url(re.compile(re.escape(reverse("login")) + r"\?next=%2F$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_polling_page_left_alone_still_warns_of_the_sign_out(
    page: Page, log_in: Callable, settings
):
    # The doctor's My day polls every 10 and 20 seconds; nobody is at the screen.
    settings.SESSION_COOKIE_AGE = 130
    page.clock.install()
    log_in(DoctorFactory().user)
    polled = []
    page.on(
        "request",
        lambda request: (
            polled.append(request.url) if request.headers.get("x-clinic-poll") else None
        ),
    )
    page.goto(reverse("scheduling:my_day"))
    page.wait_for_load_state("load")
    warning = page.get_by_role("alert").filter(has_text="You will be signed out")

    page.clock.fast_forward(31 * 1000)

    expect(warning).to_have_text(re.compile(r"You will be signed out in 2 minutes\."))
    assert polled, "the page did poll meanwhile"
