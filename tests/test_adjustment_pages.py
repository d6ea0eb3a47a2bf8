"""Discounts and write-offs on reception's invoice page, the receipt, the API and
the manager's admin: who may do what, what each form records, that a refusal is
shown on the form and changes nothing, and what the pages cost in queries."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from payments.adjustment_services import give_discount, reverse_adjustment, write_off
from payments.models import BillingLimits, Invoice, InvoiceAdjustment, InvoiceStatus
from payments.services import new_payment_token, record_desk_payment, refund_payment
from tests.factories import InvoiceFactory, PatientFactory, SessionFactory

D = Decimal


@pytest.fixture
def invoice(db) -> Invoice:
    """Anna's open invoice: a consultation at 50.00 and an ECG at 30.00."""
    return InvoiceFactory(
        session=SessionFactory(
            completed=True, patient=PatientFactory(given_name="Anna", family_name="Smithson")
        ),
        lines=[D("50.00"), D("30.00")],
    )


@pytest.fixture(autouse=True)
def limits(db) -> BillingLimits:
    limits, _ = BillingLimits.objects.update_or_create(
        pk=1,
        defaults={
            "reception_max_discount_percent": D("10.00"),
            "reception_max_write_off": D("20.00"),
        },
    )
    return limits


def reloaded(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def invoice_url(invoice: Invoice) -> str:
    return reverse("payments:invoice", args=[invoice.pk])


def text(response) -> str:
    return response.content.decode()


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def discount(client: Client, invoice: Invoice, **fields):
    """The discount form as the invoice page offers it (with its token), filled in."""
    form = client.get(invoice_url(invoice)).context["discount_form"]
    data = {"value": "10", "unit": "percent", "reason": "Senior discount"}
    data |= {"token": form.initial["token"], **fields}
    return client.post(reverse("payments:discount", args=[invoice.pk]), prefixed("discount", data))


def prefixed(prefix: str, data: dict[str, str]) -> dict[str, str]:
    return {f"{prefix}-{name}": value for name, value in data.items()}


def write_off_form(client: Client, invoice: Invoice, **fields):
    form = client.get(invoice_url(invoice)).context["write_off_form"]
    data = {"amount": str(form.initial["amount"]), "reason": "Patient moved away"}
    data |= {"token": form.initial["token"], **fields}
    return client.post(
        reverse("payments:write_off", args=[invoice.pk]), prefixed("write-off", data)
    )


def pay(invoice: Invoice, amount: str) -> None:
    record_desk_payment(
        invoice=invoice,
        method="cash",
        amount=D(amount),
        idempotency_key=new_payment_token(),
        by=None,
    )


# --- Discounts from the page -------------------------------------------------------


def test_reception_gives_a_ten_percent_discount_from_the_invoice_page(
    reception_client, invoice, receptionist
):
    response = discount(reception_client, invoice)

    assert response.status_code == 302
    page = reception_client.get(response["Location"])
    assert shown_messages(page) == ["Discount of 8.00 USD given: Senior discount."]
    [made] = InvoiceAdjustment.objects.all()
    assert (made.amount, made.percent, made.created_by) == (D("8.00"), D("10"), receptionist)
    assert (reloaded(invoice).total, reloaded(invoice).balance) == (D("72.00"), D("72.00"))
    shown = text(page)
    for words in [
        "Senior discount (10%)",
        "−8.00 USD",
        'data-testid="subtotal">80.00 USD<',
        'data-testid="total">72.00 USD<',
        'data-testid="balance">72.00 USD<',
        "Discount of 10%: Senior discount",
        "Rita Owens",
    ]:
        assert words in shown, words
    # The desk's payment form now offers the new balance.
    assert page.context["payment_form"].initial["amount"] == D("72.00")


def test_a_discount_as_an_amount(reception_client, invoice):
    discount(reception_client, invoice, value="5.00", unit="amount", reason="Kept waiting")

    assert reloaded(invoice).total == D("75.00")
    assert InvoiceAdjustment.objects.get().percent is None


def test_a_discount_above_receptions_limit_is_shown_on_the_form(reception_client, invoice):
    response = discount(reception_client, invoice, value="15")

    assert response.status_code == 200
    assert response.context["discount_form"].non_field_errors() == [
        "Reception may discount at most 10% of this invoice's services "
        "(8.00 USD in all; 0.00 USD given already). A manager can give more."
    ]
    assert not InvoiceAdjustment.objects.exists()
    assert reloaded(invoice).total == D("80.00")


@pytest.mark.parametrize(
    "fields",
    [
        {"value": ""},
        {"value": "-3"},
        {"value": "abc"},
        {"unit": "euros"},
        {"reason": ""},
        {"token": "forged"},
    ],
)
def test_a_discount_form_typed_wrong_changes_nothing(reception_client, invoice, fields):
    response = discount(reception_client, invoice, **fields)

    assert response.status_code == 200
    assert response.context["discount_form"].errors
    assert not InvoiceAdjustment.objects.exists()


def test_the_same_discount_form_sent_twice_gives_one_discount(reception_client, invoice):
    form = reception_client.get(invoice_url(invoice)).context["discount_form"]
    data = {"value": "10", "unit": "percent", "reason": "Senior", "token": form.initial["token"]}
    url = reverse("payments:discount", args=[invoice.pk])

    responses = [reception_client.post(url, prefixed("discount", data)) for _ in range(2)]

    assert [response.status_code for response in responses] == [302, 302]
    assert InvoiceAdjustment.objects.count() == 1


def test_a_manager_discounts_beyond_receptions_limit_from_the_page(manager_client, invoice):
    page = text(manager_client.get(invoice_url(invoice)))
    assert "No limit: you may discount beyond reception's." in page

    discount(manager_client, invoice, value="50", reason="Hardship")

    assert reloaded(invoice).total == D("40.00")


def test_reception_sees_its_limits_by_the_forms(reception_client, invoice):
    page = text(reception_client.get(invoice_url(invoice)))

    assert "Reception may discount up to 10% of the services in all" in page
    assert "Reception may write off up to 20.00 USD of an invoice" in page


def test_the_forms_are_offered_only_while_something_is_due(reception_client, invoice):
    pay(invoice, "80.00")

    response = reception_client.get(invoice_url(invoice))

    assert "discount_form" not in response.context
    assert reverse("payments:discount", args=[invoice.pk]) not in text(response)


def test_a_doctor_neither_discounts_nor_writes_off(doctor_client, invoice, manager):
    made = give_discount(invoice=invoice, amount=D("5.00"), reason="Waited", by=manager)
    for url, data in [
        (reverse("payments:discount", args=[invoice.pk]), {"value": "10", "unit": "percent"}),
        (reverse("payments:write_off", args=[invoice.pk]), {"amount": "5.00"}),
        (reverse("payments:reverse_adjustment", args=[invoice.pk, made.pk]), {}),
    ]:
        assert doctor_client.post(url, {**data, "reason": "Why not"}).status_code == 403, url

    assert InvoiceAdjustment.objects.count() == 1


# --- Write-offs and reversals from the page ----------------------------------------


def test_reception_writes_off_what_is_left_from_the_page(reception_client, invoice):
    pay(invoice, "65.00")

    response = write_off_form(reception_client, invoice)

    assert shown_messages(reception_client.get(response["Location"])) == [
        "15.00 USD written off: Patient moved away."
    ]
    invoice = reloaded(invoice)
    assert (invoice.status, invoice.balance) == (InvoiceStatus.WRITTEN_OFF, 0)
    page = text(reception_client.get(invoice_url(invoice)))
    assert "Written off" in page
    assert "Write-off: Patient moved away" in page


def test_a_write_off_above_receptions_limit_is_shown_on_the_form(reception_client, invoice):
    response = write_off_form(reception_client, invoice, amount="25.00")

    assert response.status_code == 200
    assert "Reception may write off at most 20.00 USD of an invoice" in text(response)
    assert response.context["write_off_form"].is_bound
    assert not InvoiceAdjustment.objects.exists()


def reversal(client: Client, adjustment: InvoiceAdjustment, reason: str):
    url = reverse("payments:reverse_adjustment", args=[adjustment.invoice_id, adjustment.pk])
    return client.post(url, {f"reverse-{adjustment.pk}-reason": reason})


def test_reception_reverses_a_discount_from_the_page(reception_client, invoice, receptionist):
    made = give_discount(invoice=invoice, percent=D("10"), reason="Senior", by=receptionist)

    response = reversal(reception_client, made, "Not a senior after all")

    assert shown_messages(reception_client.get(response["Location"])) == [
        "Discount of 8.00 USD reversed: it is owed again."
    ]
    assert reloaded(invoice).total == D("80.00")
    page = text(reception_client.get(invoice_url(invoice)))
    assert "Reversed: Not a senior after all" in page
    assert "<del>−8.00 USD</del>" in page
    assert "Senior (10%)" not in page  # No longer among the totals.


def test_a_reversal_needs_a_reason(reception_client, invoice, receptionist):
    made = give_discount(invoice=invoice, percent=D("10"), reason="Senior", by=receptionist)

    response = reversal(reception_client, made, "")

    assert response.status_code == 200
    [row] = response.context["adjustments"]
    assert row.reversal_form.errors
    assert not made.reversals.exists()


def test_a_reversal_refused_by_the_rules_is_shown_on_its_form(reception_client, invoice, manager):
    made = give_discount(invoice=invoice, amount=D("5.00"), reason="Waited", by=manager)
    reverse_adjustment(adjustment=made, reason="Mistake", by=manager)

    response = reversal(reception_client, made, "Again")

    assert response.status_code == 302
    page = reception_client.get(response["Location"])
    assert shown_messages(page) == ["This adjustment is reversed already."]
    assert made.reversals.count() == 1


def test_another_invoices_adjustment_is_not_found(reception_client, invoice, manager):
    made = give_discount(invoice=invoice, amount=D("5.00"), reason="Waited", by=manager)
    other = InvoiceFactory()

    url = reverse("payments:reverse_adjustment", args=[other.pk, made.pk])
    response = reception_client.post(url, {f"reverse-{made.pk}-reason": "Mine"})

    assert response.status_code == 404


# --- The receipt, the API and the admin --------------------------------------------


def test_the_receipt_shows_lines_discounts_write_offs_payments_and_refunds(
    reception_client, invoice, manager
):
    give_discount(invoice=invoice, percent=D("10"), reason="Senior discount", by=manager)
    cash = record_desk_payment(
        invoice=invoice,
        method="cash",
        amount=D("60.00"),
        idempotency_key=new_payment_token(),
        by=None,
    )
    refund_payment(payment=cash, amount=D("5.00"), reason="Overcharged", by=None)
    write_off(invoice=invoice, reason="Goodwill", by=manager)

    page = text(reception_client.get(reverse("payments:receipt", args=[invoice.pk])))

    for words in [
        "Consultation",
        "Services",
        "Senior discount (10%)",
        "−8.00 USD",
        "72.00 USD",  # the total
        "Cash",
        "60.00 USD",
        "Refunded to the patient",
        "−5.00 USD",
        "Written off: Goodwill",
        "−12.00 USD",  # 72.00 − 5.00 refunded, not owed again − 55.00 kept
        "Refunded, nothing more owed",
        'data-testid="receipt-balance-due">0.00 USD<',
        "Written off",  # the status
    ]:
        assert words in page, words


def test_the_api_lists_discounts_and_write_offs(reception_client, invoice, manager):
    made = give_discount(invoice=invoice, percent=D("10"), reason="Senior discount", by=manager)
    reverse_adjustment(adjustment=made, reason="Mistake", by=manager)
    give_discount(invoice=invoice, amount=D("5.00"), reason="Kept waiting", by=manager)

    body = reception_client.get(f"/api/v1/invoices/{invoice.pk}").json()

    assert (body["subtotal"], body["amount_discounted"], body["total"]) == (
        "80.00",
        "5.00",
        "75.00",
    )
    assert [
        (row["kind"], row["amount"], row["percent"], row["reason"], row["reverses"])
        for row in body["adjustments"]
    ] == [
        ("discount", "8.00", "10.00", "Senior discount", None),
        ("discount", "8.00", "10.00", "Mistake", made.pk),
        ("discount", "5.00", None, "Kept waiting", None),
    ]


def test_the_manager_sets_the_limits_in_admin(manager_client, db):
    changelist = manager_client.get(reverse("admin:payments_billinglimits_changelist"))
    assert changelist.status_code == 302
    url = changelist["Location"]

    response = manager_client.post(
        url, {"reception_max_discount_percent": "15", "reception_max_write_off": "25.00"}
    )

    assert response.status_code == 302
    limits = BillingLimits.current()
    assert (limits.reception_max_discount_percent, limits.reception_max_write_off) == (
        D("15.00"),
        D("25.00"),
    )
    assert manager_client.get(reverse("admin:payments_billinglimits_add")).status_code == 403


@pytest.mark.parametrize(
    "fields",
    [
        {"reception_max_discount_percent": "101", "reception_max_write_off": "0"},
        {"reception_max_discount_percent": "10", "reception_max_write_off": "-1"},
    ],
)
def test_the_admin_refuses_limits_out_of_range(manager_client, fields):
    url = reverse("admin:payments_billinglimits_change", args=[1])

    response = manager_client.post(url, fields)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert BillingLimits.current().reception_max_discount_percent == D("10.00")


def test_reception_cannot_change_the_limits(reception_client):
    url = reverse("admin:payments_billinglimits_change", args=[1])

    response = reception_client.post(url, {"reception_max_discount_percent": "100"})

    assert response.status_code in (302, 403)
    assert BillingLimits.current().reception_max_discount_percent == D("10.00")


def test_the_manager_reads_the_adjustments_in_admin(manager_client, invoice, manager):
    give_discount(invoice=invoice, amount=D("5.00"), reason="Waited", by=manager)
    made = InvoiceAdjustment.objects.get()

    for url in [
        reverse("admin:payments_invoiceadjustment_changelist"),
        reverse("admin:payments_invoiceadjustment_changelist") + "?q=Waited",
        reverse("admin:payments_invoiceadjustment_change", args=[made.pk]),
        reverse("admin:payments_invoice_change", args=[invoice.pk]),
    ]:
        assert manager_client.get(url).status_code == 200, url
    assert manager_client.get(reverse("admin:payments_invoiceadjustment_add")).status_code == 403
    delete = reverse("admin:payments_invoiceadjustment_delete", args=[made.pk])
    assert manager_client.post(delete, {"post": "yes"}).status_code == 403


# --- Queries ------------------------------------------------------------------------


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_invoice_and_receipt_cost_the_same_queries_with_many_adjustments(
    reception_client, manager, db
):
    few = InvoiceFactory(lines=[D("50.00"), D("30.00")])
    give_discount(invoice=few, amount=D("1.00"), reason="Waited", by=manager)
    pay(few, "10.00")
    many = InvoiceFactory(lines=[D("20.00")] * 8)
    for number in range(6):
        made = give_discount(invoice=many, amount=D("2.00"), reason=f"Reason {number}", by=manager)
        if number % 2:
            reverse_adjustment(adjustment=made, reason="Mistake", by=manager)
    write_off(invoice=many, amount=D("10.00"), reason="Goodwill", by=manager)
    for amount in ("20.00", "30.00"):
        pay(many, amount)

    for name in ("payments:invoice", "payments:receipt"):
        assert queries_for(reception_client, reverse(name, args=[many.pk])) == queries_for(
            reception_client, reverse(name, args=[few.pk])
        ), name


def test_every_form_on_the_invoice_page_has_its_own_field_ids(reception_client, invoice, manager):
    made = give_discount(invoice=invoice, amount=D("5.00"), reason="Waited", by=manager)
    give_discount(invoice=invoice, amount=D("1.00"), reason="Again", by=manager)
    reverse_adjustment(adjustment=made, reason="Mistake", by=manager)
    pay(invoice, "20.00")
    pay(invoice, "10.00")

    ids = re.findall(r'\bid="([^"]+)"', text(reception_client.get(invoice_url(invoice))))

    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_reception_without_a_write_off_limit_is_sent_to_a_manager(
    reception_client, invoice, limits
):
    limits.reception_max_write_off = D("0.00")
    limits.save()

    page = text(reception_client.get(invoice_url(invoice)))

    assert "A write-off of what is left is for a manager." in page
    assert reverse("payments:write_off", args=[invoice.pk]) not in page
