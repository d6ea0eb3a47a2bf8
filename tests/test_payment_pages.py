"""Reception's invoice pages (list, invoice with its actions, receipt), the patient's
pages to pay online, and the manager's admin: who may do what, what each action
records, and that a refusal is shown on the page rather than failing it."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from payments.models import Invoice, InvoiceStatus, Payment, PaymentStatus, Refund
from payments.provider_services import record_provider_dispute
from payments.services import (
    invoice_from_pay_link,
    new_payment_token,
    pay_link_token,
    record_desk_payment,
    refund_payment,
    settle_online_payment,
    start_online_payment,
    void_invoice,
)
from tests.factories import InvoiceFactory, PatientFactory, SessionFactory

D = Decimal


@pytest.fixture
def invoice(db) -> Invoice:
    """Anna's open invoice: a consultation at 50.00 and a test at 30.00."""
    return InvoiceFactory(
        session=SessionFactory(
            completed=True, patient=PatientFactory(given_name="Anna", family_name="Smithson")
        ),
        lines=[D("50.00"), D("30.00")],
    )


@pytest.fixture
def no_stripe(settings):
    settings.STRIPE_SECRET_KEY = ""


def paid_at_desk(invoice: Invoice, amount: str, method: str = "cash") -> Payment:
    return record_desk_payment(
        invoice=invoice,
        method=method,
        amount=D(amount),
        idempotency_key=new_payment_token(),
        by=None,
    )


def reloaded(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def invoice_url(invoice: Invoice) -> str:
    return reverse("payments:invoice", args=[invoice.pk])


def desk_form(client: Client, invoice: Invoice, **fields) -> dict[str, str]:
    """The desk payment form as the invoice page offers it (with its one-time
    token), with `fields` typed in."""
    form = client.get(invoice_url(invoice)).context["payment_form"]
    return {
        "method": "cash",
        "amount": str(form.initial["amount"]),
        "token": form.initial["token"],
        **fields,
    }


def take_at_desk(client: Client, invoice: Invoice, **fields):
    return client.post(
        reverse("payments:desk_payment", args=[invoice.pk]), desk_form(client, invoice, **fields)
    )


def refund_form(payment: Payment, amount: str, reason: str, token: str = "") -> dict[str, str]:
    """The refund form of `payment` as the page shows it (a new one-time token unless
    `token` is given), with the amount and reason typed in."""
    return {
        f"refund-{payment.pk}-amount": amount,
        f"refund-{payment.pk}-reason": reason,
        f"refund-{payment.pk}-token": token or new_payment_token(),
    }


def refund_url(payment: Payment) -> str:
    return reverse("payments:refund", args=[payment.invoice_id, payment.pk])


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def text(response) -> str:
    return response.content.decode()


# --- Who may open and do what -------------------------------------------------------


def staff_pages(invoice: Invoice) -> list[str]:
    return [
        reverse("payments:invoices"),
        reverse("payments:invoice", args=[invoice.pk]),
        reverse("payments:receipt", args=[invoice.pk]),
    ]


def staff_actions(invoice: Invoice, payment: Payment) -> list[tuple[str, dict]]:
    return [
        (
            reverse("payments:desk_payment", args=[invoice.pk]),
            {"method": "cash", "amount": "10.00", "token": new_payment_token()},
        ),
        (reverse("payments:online_payment", args=[invoice.pk]), {}),
        (reverse("payments:send_link", args=[invoice.pk]), {}),
        (refund_url(payment), refund_form(payment, "5.00", "Overcharged")),
        (reverse("payments:void", args=[invoice.pk]), {"reason": "Entered twice"}),
    ]


@pytest.fixture
def part_paid(invoice) -> tuple[Invoice, Payment]:
    payment = paid_at_desk(invoice, "20.00")
    return reloaded(invoice), payment


def test_anonymous_visitor_is_sent_to_sign_in_from_the_staff_pages(client, part_paid):
    invoice, payment = part_paid
    requests = [(url, None) for url in staff_pages(invoice)] + staff_actions(invoice, payment)

    for url, data in requests:
        response = client.get(url) if data is None else client.post(url, data)

        assert response.status_code == 302, url
        assert response["Location"] == f"{reverse('login')}?next={url}"
    assert Payment.objects.count() == 1


def test_anonymous_visitor_opens_the_pay_pages(client, invoice):
    assert client.get(reverse("payments:pay", args=[pay_link_token(invoice)])).status_code == 200
    assert client.get(reverse("payments:checkout_done")).status_code == 200


def test_doctor_can_neither_see_nor_act_on_invoices(doctor_client, part_paid, fake_stripe):
    invoice, payment = part_paid

    for url in staff_pages(invoice):
        assert doctor_client.get(url).status_code == 403, url
    for url, data in staff_actions(invoice, payment):
        assert doctor_client.post(url, data).status_code == 403, url

    assert (Payment.objects.count(), Refund.objects.count()) == (1, 0)
    assert reloaded(invoice).status == InvoiceStatus.OPEN


@pytest.mark.parametrize("role_client", ["reception_client", "manager_client"])
def test_reception_and_managers_open_the_invoice_pages(request, part_paid, role_client):
    invoice, _ = part_paid
    client = request.getfixturevalue(role_client)

    for url in staff_pages(invoice):
        assert client.get(url).status_code == 200, url


def test_manager_sees_invoices_but_cannot_act_on_them(manager_client, part_paid, fake_stripe):
    invoice, payment = part_paid

    page = text(manager_client.get(invoice_url(invoice)))
    for url, data in staff_actions(invoice, payment):
        assert manager_client.post(url, data).status_code == 403, url

    assert "Record payment" not in page
    assert "Void invoice" not in page
    assert reverse("payments:refund", args=[invoice.pk, payment.pk]) not in page
    assert (Payment.objects.count(), Refund.objects.count(), Notification.objects.count()) == (
        1,
        0,
        0,
    )
    assert reloaded(invoice).status == InvoiceStatus.OPEN


def test_reception_sees_every_action_on_an_unpaid_invoice(reception_client, invoice, fake_stripe):
    page = text(reception_client.get(invoice_url(invoice)))

    for name in ["desk_payment", "online_payment", "send_link", "void"]:
        assert reverse(f"payments:{name}", args=[invoice.pk]) in page, name


def test_an_unknown_invoice_is_not_found(reception_client, db):
    for name in ["invoice", "receipt"]:
        assert reception_client.get(reverse(f"payments:{name}", args=[999999])).status_code == 404
    response = reception_client.post(
        reverse("payments:desk_payment", args=[999999]),
        {"method": "cash", "amount": "1.00", "token": new_payment_token()},
    )
    assert response.status_code == 404


def test_a_refund_of_another_invoices_payment_is_not_found(reception_client, part_paid):
    _, payment = part_paid
    other = InvoiceFactory()

    response = reception_client.post(
        reverse("payments:refund", args=[other.pk, payment.pk]),
        refund_form(payment, "5.00", "Overcharged"),
    )

    assert response.status_code == 404
    assert not Refund.objects.exists()


def test_nav_shows_invoices_to_those_who_may_see_them(reception_client, doctor_client):
    assert reverse("payments:invoices") in text(reception_client.get(reverse("home")))
    assert reverse("payments:invoices") not in text(doctor_client.get(reverse("home")))


# --- Payments at the desk ----------------------------------------------------------


def test_the_form_offers_the_desk_methods_and_the_balance(reception_client, invoice):
    form = reception_client.get(invoice_url(invoice)).context["payment_form"]

    assert [key for key, _ in form.fields["method"].choices] == ["cash", "card_terminal"]
    assert form.initial["amount"] == D("80.00")
    assert form.initial["token"].startswith("desk-")


def test_part_at_the_desk_then_the_rest_pays_the_invoice(reception_client, invoice, receptionist):
    first = take_at_desk(reception_client, invoice, amount="30.00")

    assert first.status_code == 302
    assert first["Location"] == invoice_url(invoice)
    assert reloaded(invoice).balance == D("50.00")

    second = take_at_desk(reception_client, invoice, method="card_terminal")
    page = reception_client.get(second["Location"])

    assert shown_messages(page) == ["Card terminal payment of 50.00 USD recorded."]
    paid = reloaded(invoice)
    assert (paid.status, paid.amount_paid, paid.balance) == (
        InvoiceStatus.PAID,
        D("80.00"),
        D("0.00"),
    )
    assert [(p.method, p.amount, p.created_by) for p in paid.payments.all()] == [
        ("cash", D("30.00"), receptionist),
        ("card_terminal", D("50.00"), receptionist),
    ]
    # Nothing is left to take.
    assert page.context["payment_form"] is None
    assert "Record payment" not in text(page)


def test_the_same_form_sent_twice_records_one_payment(reception_client, invoice):
    form = desk_form(reception_client, invoice, amount="30.00")
    url = reverse("payments:desk_payment", args=[invoice.pk])

    responses = [reception_client.post(url, form) for _ in range(2)]

    assert [response.status_code for response in responses] == [302, 302]
    assert invoice.payments.count() == 1
    assert reloaded(invoice).balance == D("50.00")


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("80.01", "The balance is 80.00 USD"),
        ("0", "greater than or equal to 0.01"),
        ("-5.00", "greater than or equal to 0.01"),
        ("ten", "Enter a number"),
        ("10.005", "no more than 2 decimal places"),
        ("", "This field is required"),
    ],
)
def test_a_wrong_amount_is_shown_on_the_form_and_nothing_recorded(
    reception_client, invoice, amount, error
):
    response = take_at_desk(reception_client, invoice, amount=amount)

    assert response.status_code == 200
    assert response.context["payment_form"].errors
    assert error in text(response)
    assert not Payment.objects.exists()


def test_a_forged_token_is_refused(reception_client, invoice):
    response = take_at_desk(reception_client, invoice, token="checkout-123")

    assert "The form has expired" in text(response)
    assert not Payment.objects.exists()


def test_an_online_method_is_not_taken_at_the_desk(reception_client, invoice):
    response = take_at_desk(reception_client, invoice, method="stripe")

    assert response.context["payment_form"].errors["method"]
    assert not Payment.objects.exists()


# --- Refunds and void ---------------------------------------------------------------


def test_refund_is_bounded_by_what_the_payment_brought(reception_client, invoice, receptionist):
    payment = paid_at_desk(invoice, "50.00")
    url = refund_url(payment)

    too_much = reception_client.post(url, refund_form(payment, "50.01", "Overcharged"))

    assert too_much.status_code == 200
    assert "At most 50.00 USD of this payment can be refunded." in text(too_much)
    assert not Refund.objects.exists()

    done = reception_client.post(url, refund_form(payment, "20.00", "Overcharged"))

    assert done.status_code == 302
    assert shown_messages(reception_client.get(done["Location"])) == [
        "Refund of 20.00 USD recorded: money returned, nothing more owed."
    ]
    [refund] = Refund.objects.all()
    assert (refund.amount, refund.reason, refund.created_by) == (
        D("20.00"),
        "Overcharged",
        receptionist,
    )
    refunded = reloaded(invoice)
    # Money returned: the 80.00 bill is 60.00 now, of which 30.00 is kept.
    assert (refunded.status, refunded.balance) == (InvoiceStatus.OPEN, D("30.00"))
    # What is left to refund is offered next.
    [row] = reception_client.get(invoice_url(invoice)).context["payments"]
    assert row.refund_form.initial["amount"] == D("30.00")


def test_a_refund_form_sent_twice_refunds_once(reception_client, invoice):
    """A double click on "Refund": both posts carry the form's one token."""
    payment = paid_at_desk(invoice, "50.00")
    form = refund_form(payment, "20.00", "Overcharged")

    first = reception_client.post(refund_url(payment), form)
    again = reception_client.post(refund_url(payment), form)

    assert first.status_code == again.status_code == 302
    assert list(Refund.objects.values_list("amount", flat=True)) == [D("20.00")]


def test_a_refund_form_without_its_token_refunds_nothing(reception_client, invoice):
    payment = paid_at_desk(invoice, "50.00")
    form = refund_form(payment, "20.00", "Overcharged")
    del form[f"refund-{payment.pk}-token"]

    response = reception_client.post(refund_url(payment), form)

    assert response.status_code == 200
    assert not Refund.objects.exists()


@pytest.mark.parametrize(("amount", "reason"), [("10.00", ""), ("0", "Overcharged")])
def test_refund_needs_a_positive_amount_and_a_reason(reception_client, invoice, amount, reason):
    payment = paid_at_desk(invoice, "50.00")

    response = reception_client.post(refund_url(payment), refund_form(payment, amount, reason))

    assert response.status_code == 200
    [row] = response.context["payments"]
    assert row.refund_form.errors
    assert not Refund.objects.exists()


def test_only_a_payment_that_went_through_offers_a_refund(reception_client, invoice):
    pending = Payment.objects.create(
        invoice=invoice,
        method="stripe",
        amount=D("80.00"),
        idempotency_key="checkout-pending",
        checkout_url="https://checkout.stripe.test/c/pay/cs_test_1",
    )

    [row] = reception_client.get(invoice_url(invoice)).context["payments"]
    refused = reception_client.post(refund_url(pending), refund_form(pending, "10.00", "Oops"))

    assert row.refund_form is None
    assert "Only a payment that went through can be refunded." in text(refused)
    assert not Refund.objects.exists()


def test_an_unpaid_invoice_is_void_with_a_reason(reception_client, invoice, receptionist):
    response = reception_client.post(
        reverse("payments:void", args=[invoice.pk]), {"reason": "Entered twice"}
    )

    assert response.status_code == 302
    page = reception_client.get(response["Location"])
    assert shown_messages(page) == [f"Invoice {invoice.display_number} is void."]
    void = reloaded(invoice)
    assert (void.status, void.void_reason, void.voided_by) == (
        InvoiceStatus.VOID,
        "Entered twice",
        receptionist,
    )
    assert "Entered twice" in text(page)
    assert "Record payment" not in text(page)


def test_void_needs_a_reason(reception_client, invoice):
    response = reception_client.post(reverse("payments:void", args=[invoice.pk]), {"reason": ""})

    assert response.status_code == 200
    assert response.context["void_form"].errors["reason"]
    assert reloaded(invoice).status == InvoiceStatus.OPEN


def test_an_invoice_with_money_on_it_is_not_void(reception_client, invoice):
    paid_at_desk(invoice, "10.00")

    page = text(reception_client.get(invoice_url(invoice)))
    response = reception_client.post(
        reverse("payments:void", args=[invoice.pk]), {"reason": "Entered twice"}
    )

    assert "Void invoice" not in page
    assert "Only an unpaid invoice can be void" in text(response)
    assert reloaded(invoice).status == InvoiceStatus.OPEN


# --- Online payment -----------------------------------------------------------------


def test_without_stripe_keys_the_online_option_is_off(reception_client, invoice, no_stripe):
    response = reception_client.get(invoice_url(invoice))

    assert response.status_code == 200
    assert response.context["online_available"] is False
    assert re.search(r"<button[^>]*disabled[^>]*>Pay online</button>", text(response))
    assert "Online payment is not set up" in text(response)


@pytest.mark.parametrize("action", ["online_payment", "send_link"])
def test_without_stripe_keys_online_actions_say_why_and_do_nothing(
    reception_client, invoice, no_stripe, action
):
    response = reception_client.post(reverse(f"payments:{action}", args=[invoice.pk]))

    assert response.status_code == 302
    assert shown_messages(reception_client.get(response["Location"])) == [
        "Online payment is not set up (no Stripe keys)."
    ]
    assert not Payment.objects.exists()
    assert not Notification.objects.filter(template="payment_link").exists()


def test_pay_online_shows_the_checkout_link_for_the_balance(
    reception_client, invoice, receptionist, fake_stripe
):
    paid_at_desk(invoice, "30.00")

    response = reception_client.post(reverse("payments:online_payment", args=[invoice.pk]))
    page = reception_client.get(response["Location"])

    [checkout] = Payment.objects.filter(method="stripe")
    assert (checkout.status, checkout.amount, checkout.created_by) == (
        PaymentStatus.PENDING,
        D("50.00"),
        receptionist,
    )
    assert checkout.checkout_url.startswith("https://checkout.stripe.test/")
    assert page.context["checkouts"] == [checkout]
    assert f'href="{checkout.checkout_url}"' in text(page)
    assert shown_messages(page) == [
        "Online checkout ready for 50.00 USD: open the link or give it to the patient."
    ]
    [create] = fake_stripe.checkout_creates
    assert create.form["success_url"].startswith(
        "https://clinic.example.test" + reverse("payments:checkout_done")
    )
    # Still owed until Stripe says it is paid.
    assert reloaded(invoice).balance == D("50.00")


def test_pay_online_twice_reuses_the_open_checkout(reception_client, invoice, fake_stripe):
    url = reverse("payments:online_payment", args=[invoice.pk])

    reception_client.post(url)
    reception_client.post(url)

    assert Payment.objects.filter(method="stripe").count() == 1
    assert len(fake_stripe.checkout_creates) == 1


def test_stripe_down_is_a_message_not_an_error_page(reception_client, invoice, fake_stripe):
    from tests.fakes.stripe import OUTAGE

    fake_stripe.answer_next(OUTAGE)

    response = reception_client.post(reverse("payments:online_payment", args=[invoice.pk]))

    assert response.status_code == 302
    [message] = shown_messages(reception_client.get(response["Location"]))
    assert message.startswith("Could not create a checkout with Stripe")


def test_send_link_texts_the_patient_a_link_to_pay(reception_client, invoice, fake_stripe):
    response = reception_client.post(reverse("payments:send_link", args=[invoice.pk]))

    assert shown_messages(reception_client.get(response["Location"])) == [
        "A link to pay online is on its way to Anna Smithson."
    ]
    [sms] = Notification.objects.filter(template="payment_link")
    assert (sms.channel, sms.patient) == ("sms", invoice.patient)
    link = sms.body.split()[-1]
    prefix = "https://clinic.example.test/payments/pay/"
    assert link.startswith(prefix)
    assert invoice_from_pay_link(link.removeprefix(prefix).rstrip("/")) == invoice
    assert "80.00 USD" in sms.body


# --- The patient's pay pages --------------------------------------------------------


def pay_url(invoice: Invoice) -> str:
    return reverse("payments:pay", args=[pay_link_token(invoice)])


def test_pay_page_shows_the_bill_but_not_who_it_is_for(client, invoice, fake_stripe):
    paid_at_desk(invoice, "30.00")

    response = client.get(pay_url(invoice))

    assert response.status_code == 200
    page = text(response)
    assert "Riverside Clinic" in page
    assert invoice.display_number in page
    assert "50.00 USD" in page
    assert "Anna" not in page
    assert "Smithson" not in page
    assert "Pay online" in page


def test_pay_online_sends_the_patient_to_stripe(client, invoice, fake_stripe):
    response = client.post(pay_url(invoice))

    [checkout] = Payment.objects.filter(method="stripe")
    assert response.status_code == 302
    assert response["Location"] == checkout.checkout_url
    assert (checkout.amount, checkout.created_by) == (D("80.00"), None)


def test_pay_page_when_stripe_is_down_asks_to_try_later(client, invoice, fake_stripe):
    from tests.fakes.stripe import OUTAGE

    fake_stripe.answer_next(OUTAGE)

    response = client.post(pay_url(invoice))

    assert response.status_code == 200
    assert "Online payment is not available right now." in text(response)
    assert "Could not create a checkout" not in text(response)  # Staff wording.


@pytest.mark.parametrize("token", ["forged", "MTIz:1tAbCd:not-a-real-signature"])
def test_a_forged_pay_link_is_not_found(client, invoice, token):
    assert client.get(reverse("payments:pay", args=[token])).status_code == 404


def test_an_old_pay_link_is_not_found(client, invoice, settings, time_machine):
    url = pay_url(invoice)
    time_machine.move_to(timezone.now() + timedelta(days=settings.PAYMENTS_PAY_LINK_DAYS + 1))

    assert client.get(url).status_code == 404


def test_a_paid_invoice_has_nothing_to_pay(client, invoice, fake_stripe):
    paid_at_desk(invoice, "80.00")

    response = client.get(pay_url(invoice))
    posted = client.post(pay_url(invoice))

    assert "There is nothing to pay on this bill." in text(response)
    assert "Pay online" not in text(response)
    assert posted.status_code == 200
    assert not Payment.objects.filter(method="stripe").exists()


def test_a_void_invoice_has_nothing_to_pay(client, invoice):
    void_invoice(invoice=invoice, reason="Entered twice", by=None)

    assert "nothing to pay" in text(client.get(pay_url(invoice)))


def test_pay_page_without_stripe_says_to_pay_at_the_clinic(client, invoice, no_stripe):
    response = client.get(pay_url(invoice))
    posted = client.post(pay_url(invoice))

    assert "pay at the clinic" in text(response)
    assert "Pay online" not in text(response)
    assert posted.status_code == 200
    assert not Payment.objects.exists()


def test_coming_back_from_stripe_marks_nothing_paid(client, invoice, fake_stripe):
    client.post(pay_url(invoice))
    [checkout] = Payment.objects.filter(method="stripe")

    response = client.get(
        reverse("payments:checkout_done"), {"session_id": checkout.checkout_session_id}
    )

    assert "Your payment is being confirmed." in text(response)
    checkout.refresh_from_db()
    assert checkout.status == PaymentStatus.PENDING
    assert reloaded(invoice).status == InvoiceStatus.OPEN


# --- Receipt ------------------------------------------------------------------------


def test_receipt_shows_the_bill_payments_and_balance(reception_client, invoice):
    payment = paid_at_desk(invoice, "50.00")
    refund_payment(payment=payment, amount=D("5.00"), reason="Overcharged", by=None)

    response = reception_client.get(reverse("payments:receipt", args=[invoice.pk]))

    page = text(response)
    assert response.status_code == 200
    for shown in [
        "Riverside Clinic",
        invoice.display_number,
        "Anna Smithson",
        "Consultation",
        "80.00 USD",  # total
        "Cash",
        "50.00 USD",
        "−5.00 USD",
        "45.00 USD",  # paid, net of the refund
        "−5.00 USD",  # the refund is not owed again
        "30.00 USD",  # balance
    ]:
        assert shown in page, shown
    assert 'data-action="print"' in page
    assert "js/print.js" in page
    assert "<script>" not in page  # No inline script: the print button is wired in print.js.


# --- Disputes -----------------------------------------------------------------------


@pytest.fixture
def disputed(invoice, fake_stripe) -> Invoice:
    """Anna paid online; her bank then took the money back in a card dispute."""
    payment = start_online_payment(invoice=invoice, by=None, base_url="https://clinic.test")
    settle_online_payment(payment=payment, payment_intent_id="pi_anna")
    record_provider_dispute(
        payment=payment,
        provider_dispute_id="dp_anna",
        amount=D("80.00"),
        status="needs_response",
        reason="fraudulent",
    )
    return reloaded(invoice)


def test_a_disputed_invoice_shows_the_money_taken_back(reception_client, disputed):
    page = text(reception_client.get(invoice_url(disputed)))

    assert (disputed.status, disputed.amount_disputed, disputed.balance) == (
        InvoiceStatus.DISPUTED,
        D("80.00"),
        D("80.00"),
    )
    for shown in [
        "Disputed",
        "Taken back in disputes",
        "Card dispute (fraudulent): Needs a response",
        "−80.00 USD",
    ]:
        assert shown in page, shown
    receipt = text(reception_client.get(reverse("payments:receipt", args=[disputed.pk])))
    assert "Taken back in a card dispute" in receipt
    assert "−80.00 USD" in receipt


def test_a_won_dispute_gives_the_money_back_to_the_invoice(reception_client, disputed):
    payment = disputed.payments.get()
    record_provider_dispute(
        payment=payment,
        provider_dispute_id="dp_anna",
        amount=D("80.00"),
        status="won",
        reason="fraudulent",
    )

    invoice = reloaded(disputed)
    assert (invoice.status, invoice.amount_disputed, invoice.balance) == (InvoiceStatus.PAID, 0, 0)
    assert "Card dispute (fraudulent): Won" in text(reception_client.get(invoice_url(invoice)))


def test_a_disputed_invoice_is_due_again_and_listed_as_disputed(reception_client, disputed):
    InvoiceFactory()
    url = reverse("payments:invoices")

    assert disputed in listed(reception_client.get(url))
    assert listed(reception_client.get(url, {"show": "disputed"})) == [disputed]


# --- The invoice list ---------------------------------------------------------------


def listed(response) -> list[Invoice]:
    return list(response.context["invoices"])


@pytest.fixture
def invoices_of_each_kind(db) -> dict[str, Invoice]:
    kinds = {name: InvoiceFactory() for name in ["open", "part_paid", "paid", "void", "refunded"]}
    kinds["part_refunded"] = InvoiceFactory()
    paid_at_desk(kinds["part_paid"], "30.00")
    paid_at_desk(kinds["paid"], "80.00")
    void_invoice(invoice=kinds["void"], reason="Entered twice", by=None)
    payment = paid_at_desk(kinds["refunded"], "80.00")
    refund_payment(payment=payment, amount=D("80.00"), reason="Cancelled visit", by=None)
    payment = paid_at_desk(kinds["part_refunded"], "80.00")
    refund_payment(payment=payment, amount=D("20.00"), reason="Overcharged", by=None)
    return {name: reloaded(invoice) for name, invoice in kinds.items()}


def test_list_shows_invoices_with_a_balance_due_newest_first(
    reception_client, invoices_of_each_kind
):
    kinds = invoices_of_each_kind

    response = reception_client.get(reverse("payments:invoices"))

    # A refund is money returned: the part refunded invoice owes nothing.
    assert listed(response) == [kinds["part_paid"], kinds["open"]]
    assert "50.00 USD" in text(response)  # The balance of the part paid one.


@pytest.mark.parametrize(
    ("show", "expected"),
    [
        ("paid", ["paid"]),
        ("void", ["void"]),
        ("refunded", ["part_refunded", "refunded"]),
        ("all", ["part_refunded", "refunded", "void", "paid", "part_paid", "open"]),
        ("nonsense", ["part_paid", "open"]),
    ],
)
def test_list_filters_by_status(reception_client, invoices_of_each_kind, show, expected):
    response = reception_client.get(reverse("payments:invoices"), {"show": show})

    assert listed(response) == [invoices_of_each_kind[name] for name in expected]


def test_list_finds_an_invoice_by_number_or_patient(reception_client, invoice):
    InvoiceFactory()
    url = reverse("payments:invoices")

    assert listed(reception_client.get(url, {"q": invoice.display_number})) == [invoice]
    assert listed(reception_client.get(url, {"q": "smiths"})) == [invoice]
    assert listed(reception_client.get(url, {"q": "9" * 30})) == []


def test_list_is_paginated(reception_client, db):
    for _ in range(26):
        InvoiceFactory()

    first = reception_client.get(reverse("payments:invoices"))
    second = reception_client.get(reverse("payments:invoices"), {"page": 2})

    assert len(listed(first)) == 25
    assert len(listed(second)) == 1
    assert "?page=2" in text(first)


# --- Queries ------------------------------------------------------------------------


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_list_costs_the_same_queries_with_few_or_many_invoices(reception_client, db):
    InvoiceFactory()
    url = reverse("payments:invoices")
    few = queries_for(reception_client, url)

    for _ in range(10):
        paid_at_desk(InvoiceFactory(), "10.00")

    assert queries_for(reception_client, url) == few


def test_the_invoice_costs_the_same_queries_with_few_or_many_payments(
    reception_client, receptionist, fake_stripe
):
    invoice = InvoiceFactory(lines=[D("50.00"), D("30.00")])
    paid_at_desk(invoice, "10.00")
    url = invoice_url(invoice)
    few = queries_for(reception_client, url)

    many = InvoiceFactory(lines=[D("20.00")] * 8)
    for method in ["cash", "card_terminal", "cash", "card_terminal"]:
        payment = record_desk_payment(
            invoice=many,
            method=method,
            amount=D("20.00"),
            idempotency_key=new_payment_token(),
            by=receptionist,
        )
        refund_payment(payment=payment, amount=D("5.00"), reason="Overcharged", by=receptionist)
        refund_payment(payment=payment, amount=D("5.00"), reason="Again", by=receptionist)
    reception_client.post(reverse("payments:online_payment", args=[many.pk]))

    assert queries_for(reception_client, invoice_url(many)) == few
    assert queries_for(reception_client, reverse("payments:receipt", args=[many.pk])) == (
        queries_for(reception_client, reverse("payments:receipt", args=[invoice.pk]))
    )


# --- From the appointment, and the admin ---------------------------------------------


def test_appointment_links_to_its_invoice(reception_client, doctor_client, invoice):
    url = reverse("scheduling:detail", args=[invoice.session.appointment_id])

    assert invoice_url(invoice) in text(reception_client.get(url))


def test_manager_reads_payments_in_the_admin(manager_client, invoices_of_each_kind):
    invoice = invoices_of_each_kind["refunded"]
    pages = [
        reverse("admin:payments_invoice_changelist"),
        reverse("admin:payments_invoice_changelist") + "?q=" + invoice.display_number,
        reverse("admin:payments_invoice_changelist") + "?q=smith",
        reverse("admin:payments_invoice_change", args=[invoice.pk]),
        reverse("admin:payments_payment_changelist"),
        reverse("admin:payments_refund_changelist"),
        reverse("admin:payments_stripeevent_changelist"),
        reverse("admin:payments_stripeevent_changelist") + "?attention=yes",
        reverse("admin:payments_dispute_changelist"),
    ]

    for url in pages:
        assert manager_client.get(url).status_code == 200, url
    assert manager_client.get(reverse("admin:payments_invoice_add")).status_code == 403
    found = manager_client.get(pages[1]).context["cl"].result_list
    assert list(found) == [invoice]
