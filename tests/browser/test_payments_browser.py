"""Payments seen from the browser: reception takes part of a bill in cash at the desk
and offers the rest online through Stripe (the local fake)."""

from __future__ import annotations

import re
from decimal import Decimal

from django.urls import reverse
from playwright.sync_api import expect

from payments.models import Payment, PaymentStatus
from tests.factories import InvoiceFactory, ReceptionistFactory


def test_reception_takes_cash_then_offers_the_rest_online(signed_in, fake_stripe):
    invoice = InvoiceFactory(lines=[Decimal("50.00"), Decimal("30.00")])
    reception = signed_in(ReceptionistFactory())

    reception.goto(reverse("payments:invoice", args=[invoice.pk]))
    balance = reception.get_by_test_id("balance")
    expect(balance).to_have_text("80.00 USD")
    desk = reception.get_by_test_id("desk-payment")
    desk.get_by_label("Method").select_option(label="Cash")
    desk.get_by_label("Amount").fill("30.00")
    desk.get_by_role("button", name="Record payment").click()

    expect(reception.get_by_role("alert")).to_contain_text("Cash payment of 30.00 USD recorded.")
    expect(balance).to_have_text("50.00 USD")
    expect(reception.get_by_test_id("payments")).to_contain_text("Cash")

    reception.get_by_role("button", name="Pay online").click()

    checkout = reception.get_by_test_id("checkout-link")
    expect(checkout).to_contain_text("Checkout for 50.00 USD")
    [online] = Payment.objects.filter(method="stripe")
    expect(checkout.get_by_role("link")).to_have_attribute("href", online.checkout_url)
    expect(checkout.get_by_role("link")).to_have_attribute(
        "href", re.compile(r"^https://checkout\.stripe\.test/")
    )
    assert (online.amount, online.status) == (Decimal("50.00"), PaymentStatus.PENDING)
    # Owed until Stripe says it is paid.
    expect(balance).to_have_text("50.00 USD")
