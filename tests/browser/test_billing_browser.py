"""Billing that matches the visit, seen from the browser: the doctor completes a
visit with two services; reception gives a 10% senior discount, takes the rest in
cash and prints the receipt. Screenshots of the invoice and the receipt, wide and
narrow (and the receipt as printed), go to var/screenshots/."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from django.urls import reverse
from playwright.sync_api import Page, expect

from payments.models import Invoice, InvoiceAdjustment, InvoiceStatus
from scheduling.models import Status as AppointmentStatus
from sessions_app.services import complete_session
from tests.factories import PatientFactory, ReceptionistFactory, ServiceFactory, SessionFactory

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
WIDE = {"width": 1366, "height": 768}
NARROW = {"width": 390, "height": 844}


def screenshots(page: Page, name: str) -> None:
    """The page at a desk's width and a phone's, whole; at each, nothing sticks out
    of the window's width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("wide", WIDE), ("narrow", NARROW)):
        page.set_viewport_size(size)
        page.screenshot(path=SCREENSHOTS / f"{name}-{label}.png", full_page=True)
        no_sideways_scroll(page, label)
    page.set_viewport_size(WIDE)


def no_sideways_scroll(page: Page, label: str) -> None:
    """Nothing sticks out of the page's width, and the bill's table shows every
    amount without scrolling inside its box."""
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"The page is {overflow}px wider than the window ({label})"
    for test_id in ("invoice-lines", "receipt-lines"):
        table = page.get_by_test_id(test_id)
        if table.count():
            hidden = table.evaluate(
                "t => t.parentElement.scrollWidth - t.parentElement.clientWidth"
            )
            assert hidden <= 0, f"{test_id} is cut by {hidden}px ({label})"


def a_visit_with_two_services() -> Invoice:
    """Anna's visit: a consultation and an ECG, completed by her doctor."""
    session = SessionFactory(
        in_progress=True,
        appointment__status=AppointmentStatus.IN_SESSION,
        patient=PatientFactory(given_name="Anna", family_name="Smithson"),
    )
    consult = ServiceFactory(code="consult", name="Consultation", price=Decimal("80.00"))
    ecg = ServiceFactory(code="ecg", name="ECG", price=Decimal("35.50"))
    complete_session(session=session, by=session.doctor.user, performed=[(consult, 1), (ecg, 1)])
    return Invoice.objects.get(session=session)


def test_reception_discounts_takes_cash_and_prints_the_receipt(signed_in):
    invoice = a_visit_with_two_services()
    reception = signed_in(ReceptionistFactory(first_name="Rita", last_name="Owens"))

    reception.goto(reverse("payments:invoice", args=[invoice.pk]))
    lines = reception.get_by_test_id("invoice-lines")
    expect(lines).to_contain_text("Consultation")
    expect(lines).to_contain_text("ECG")
    expect(reception.get_by_test_id("balance")).to_have_text("115.50 USD")

    # A 10% senior discount, within reception's limit.
    discount = reception.get_by_test_id("discount")
    expect(discount).to_contain_text("Reception may discount up to 10% of the services in all")
    discount.get_by_label("Discount").fill("10")
    discount.get_by_label("Given as").select_option(label="% of the services")
    discount.get_by_label("Reason").fill("Senior discount")
    discount.get_by_role("button", name="Give discount").click()

    expect(reception.get_by_role("alert")).to_contain_text(
        "Discount of 11.55 USD given: Senior discount."
    )
    expect(reception.get_by_test_id("discount-line")).to_contain_text("Senior discount (10%)")
    expect(reception.get_by_test_id("total")).to_have_text("103.95 USD")
    expect(reception.get_by_test_id("balance")).to_have_text("103.95 USD")
    expect(reception.get_by_test_id("adjustments")).to_contain_text("Rita Owens")
    expect(reception.get_by_test_id("write-off-managers")).to_be_visible()
    screenshots(reception, "billing-discounted")

    # The rest in cash: the desk's form offers the balance after the discount.
    desk = reception.get_by_test_id("desk-payment")
    expect(desk.get_by_label("Amount")).to_have_value("103.95")
    desk.get_by_label("Method").select_option(label="Cash")
    desk.get_by_role("button", name="Record payment").click()

    expect(reception.get_by_role("alert")).to_contain_text("Cash payment of 103.95 USD recorded.")
    expect(reception.get_by_test_id("balance")).to_have_text("0.00 USD")
    expect(reception.get_by_test_id("invoice-status")).to_have_text("Paid")
    # Nothing is due: no more discounts or payments offered.
    expect(reception.get_by_test_id("discount")).to_have_count(0)
    expect(reception.get_by_test_id("desk-payment")).to_have_count(0)
    screenshots(reception, "billing-invoice")

    # The receipt opens in a tab of its own, and prints.
    with reception.context.expect_page() as opened:
        reception.get_by_role("link", name="Print receipt").click()
    receipt = opened.value
    receipt.add_init_script("window.print = () => { document.body.dataset.printed = 'yes'; };")
    receipt.reload()
    for words in [
        "Consultation",
        "ECG",
        "Senior discount (10%)",
        "−11.55 USD",
        "103.95 USD",
        "Cash",
    ]:
        expect(receipt.locator("body")).to_contain_text(words)
    expect(receipt.get_by_test_id("receipt-balance-due")).to_have_text("0.00 USD")
    receipt.get_by_role("button", name="Print").click()
    expect(receipt.locator("body")).to_have_attribute("data-printed", "yes")
    screenshots(receipt, "billing-receipt")

    # As printed: the print stylesheet leaves the button out.
    receipt.emulate_media(media="print")
    expect(receipt.get_by_role("button", name="Print")).to_be_hidden()
    receipt.screenshot(path=SCREENSHOTS / "billing-receipt-print.png", full_page=True)

    # Paid, it has left the everyday list; a search finds it whatever its status.
    reception.goto(reverse("payments:invoices"))
    expect(reception.get_by_test_id("invoices")).to_have_count(0)
    search = reception.get_by_role("search", name="Filter invoices")
    search.get_by_label("Invoice number or patient").fill("smithson")
    search.get_by_role("button", name="Filter").click()
    found = reception.get_by_test_id("invoices")
    expect(found.locator("tbody tr")).to_have_count(1)
    expect(found).to_contain_text("Anna Smithson")
    expect(found.get_by_test_id("invoice-status")).to_have_text("Paid")
    screenshots(reception, "billing-invoice-search")

    [made] = InvoiceAdjustment.objects.all()
    assert (made.amount, made.percent, made.reason) == (
        Decimal("11.55"),
        Decimal("10"),
        "Senior discount",
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.total, invoice.balance) == (
        InvoiceStatus.PAID,
        Decimal("103.95"),
        Decimal("0.00"),
    )


def test_a_refund_reads_as_money_returned_in_the_browser(signed_in):
    invoice = a_visit_with_two_services()
    reception = signed_in(ReceptionistFactory())
    reception.goto(reverse("payments:invoice", args=[invoice.pk]))
    reception.get_by_test_id("desk-payment").get_by_role("button", name="Record payment").click()
    expect(reception.get_by_test_id("balance")).to_have_text("0.00 USD")

    reception.get_by_text("Refund this payment").click()
    refund = reception.get_by_test_id("payments").locator("form")
    refund.get_by_label("Amount to refund").fill("30.00")
    refund.get_by_label("Reason").fill("ECG not needed after all")
    expect(refund.get_by_label("Money returned: nothing more is owed")).to_be_checked()
    refund.get_by_role("button", name="Refund").click()

    expect(reception.get_by_role("alert").first).to_contain_text(
        "Refund of 30.00 USD recorded: money returned, nothing more owed."
    )
    expect(reception.get_by_test_id("refund-note")).to_have_text(
        "Refunded 30.00 USD to the patient. Nothing more is owed.", use_inner_text=True
    )
    expect(reception.get_by_test_id("balance")).to_have_text("0.00 USD")
    expect(reception.get_by_test_id("invoice-status")).to_have_text("Partially refunded")
    screenshots(reception, "billing-refunded")

    reception.goto(reverse("payments:receipt", args=[invoice.pk]))
    expect(reception.get_by_test_id("receipt-payments")).to_contain_text("Refunded to the patient")
    expect(reception.get_by_test_id("receipt-balance")).to_contain_text(
        "Refunded, nothing more owed"
    )
    expect(reception.get_by_test_id("receipt-balance-due")).to_have_text("0.00 USD")
    screenshots(reception, "billing-refunded-receipt")
