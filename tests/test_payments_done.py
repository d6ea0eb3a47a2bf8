"""Issue 6's "done when", as one story through the pages, the webhook and the worker:
after a completed session, reception takes part of the bill in cash and sends a
Stripe link for the rest; the signed webhook, replayed twice and out of order, marks
the invoice paid once; and a lost webhook is caught by the reconciliation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from notifications.models import Notification
from payments.models import InvoiceStatus, PaymentStatus, StripeEvent
from payments.tasks import process_stripe_event
from scheduling.models import Status as AppointmentStatus
from sessions_app.services import complete_session
from tests.factories import ServiceFactory, SessionFactory
from tests.test_stripe_webhooks import stripe_signature

NOW = datetime(2026, 3, 2, 17, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def afternoon(time_machine) -> None:
    time_machine.move_to(NOW, tick=False)


def completed_visit(price: str):
    """A session the doctor completes, with one service at `price`."""
    session = SessionFactory(in_progress=True, appointment__status=AppointmentStatus.IN_SESSION)
    service = ServiceFactory(code=f"svc-{price}", name="Consultation", price=Decimal(price))
    complete_session(session=session, by=session.doctor.user, performed=[(service, 1)])
    return session.invoice


def take_cash(client, invoice, amount: str) -> None:
    page = client.get(reverse("payments:invoice", args=[invoice.pk]))
    token = page.context["payment_form"]["token"].value()
    client.post(
        reverse("payments:desk_payment", args=[invoice.pk]),
        {"method": "cash", "amount": amount, "token": token},
    )


def send_online_link(client, invoice):
    client.post(reverse("payments:online_payment", args=[invoice.pk]))
    client.post(reverse("payments:send_link", args=[invoice.pk]))
    return invoice.payments.get(method="stripe")


def deliver(client, event: dict) -> None:
    payload = json.dumps(event)
    response = client.post(
        "/webhooks/stripe/",
        payload,
        content_type="application/json",
        headers={"Stripe-Signature": stripe_signature(payload)},
    )
    assert response.status_code == 200


def test_part_cash_part_online_with_a_replayed_webhook_is_paid_once(
    reception_client, client, fake_stripe
):
    invoice = completed_visit("80.00")

    take_cash(reception_client, invoice, "30.00")
    online = send_online_link(reception_client, invoice)

    assert online.amount == Decimal("50.00")
    assert Notification.objects.filter(template="payment_link", patient=invoice.patient).exists()
    # The patient pays; Stripe's events arrive twice each, the last one first.
    paid = fake_stripe.complete(online.checkout_session_id)
    events = [
        fake_stripe.event("checkout.session.async_payment_succeeded", paid),
        fake_stripe.event("checkout.session.completed", paid),
    ]
    for event in [*events, *reversed(events)]:
        deliver(client, event)
    for pk in StripeEvent.objects.order_by("pk").values_list("pk", flat=True):
        process_stripe_event(pk)

    invoice.refresh_from_db()
    assert StripeEvent.objects.count() == 2
    assert (invoice.status, invoice.amount_paid, invoice.balance) == (
        InvoiceStatus.PAID,
        Decimal("80.00"),
        Decimal("0.00"),
    )
    assert sorted(p.amount for p in invoice.payments.filter(status=PaymentStatus.SUCCEEDED)) == [
        Decimal("30.00"),
        Decimal("50.00"),
    ]


def test_a_lost_webhook_is_caught_by_the_reconciliation(
    reception_client, fake_stripe, time_machine, capsys
):
    invoice = completed_visit("80.00")
    online = send_online_link(reception_client, invoice)
    fake_stripe.complete(online.checkout_session_id)  # Paid; the webhook never comes.

    time_machine.move_to(NOW + timedelta(minutes=31), tick=False)
    call_command("reconcile_payments")

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert f"Invoice {invoice.display_number}" in capsys.readouterr().out
