"""The daily cash-up: what a desk user took by method, the count, closing the day,
and the closed-day rule (no more money taken or given back on it)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from payments.cashup import close_cash_up, taken_on
from payments.cashup_views import CloseForm
from payments.exceptions import PaymentError
from payments.models import CashUp, Payment, Refund
from payments.services import record_desk_payment, refund_payment
from tests.clock import MONDAY, at
from tests.factories import InvoiceFactory, ReceptionistFactory
from tests.helpers import signed_in

D = Decimal


@pytest.fixture(autouse=True)
def monday_evening(time_machine):
    time_machine.move_to(at(MONDAY, 17), tick=False)


@pytest.fixture
def invoices(db):
    return [InvoiceFactory(lines=[D("80.00")]) for _ in range(3)]


@pytest.fixture
def day_of_rita(receptionist, invoices, time_machine):
    """Rita takes 80.00 cash, 50.00 cash and 80.00 by card, and gives 10.00 back
    in cash, on Monday."""
    time_machine.move_to(at(MONDAY, 10), tick=False)
    cash = record_desk_payment(
        invoice=invoices[0], method="cash", amount=D("80.00"), idempotency_key="a", by=receptionist
    )
    record_desk_payment(
        invoice=invoices[1], method="cash", amount=D("50.00"), idempotency_key="b", by=receptionist
    )
    record_desk_payment(
        invoice=invoices[2],
        method="card_terminal",
        amount=D("80.00"),
        idempotency_key="c",
        by=receptionist,
    )
    refund_payment(payment=cash, amount=D("10.00"), reason="Overcharged", by=receptionist)
    time_machine.move_to(at(MONDAY, 17), tick=False)
    return cash


def test_taken_by_method_less_refunds(day_of_rita, receptionist):
    taken = {item.method: item for item in taken_on(day=MONDAY, desk_user=receptionist)}
    assert (taken["cash"].payments, taken["cash"].refunds, taken["cash"].net) == (
        D("130.00"),
        D("10.00"),
        D("120.00"),
    )
    assert taken["card_terminal"].net == D("80.00")


def test_another_desk_users_money_is_not_in_rita_s_count(day_of_rita, receptionist, invoices):
    other = ReceptionistFactory()
    record_desk_payment(
        invoice=invoices[1], method="cash", amount=D("30.00"), idempotency_key="o", by=other
    )
    cash = next(i for i in taken_on(day=MONDAY, desk_user=receptionist) if i.method == "cash")
    assert cash.net == D("120.00")


def test_closing_keeps_the_count_the_difference_who_and_when(day_of_rita, receptionist):
    row = close_cash_up(
        day=MONDAY,
        desk_user=receptionist,
        counted_cash=D("115.00"),
        note="5.00 short: change",
        by=receptionist,
    )
    row.refresh_from_db()
    assert row.taken == {"cash": "120.00", "card_terminal": "80.00"}
    assert (row.cash_expected, row.counted_cash, row.difference) == (
        D("120.00"),
        D("115.00"),
        D("-5.00"),
    )
    assert row.closed_by == receptionist
    assert row.closed_at == at(MONDAY, 17)
    assert row.note == "5.00 short: change"


def test_a_closed_day_takes_no_more_money(day_of_rita, receptionist, invoices):
    close_cash_up(
        day=MONDAY, desk_user=receptionist, counted_cash=D("120.00"), note="", by=receptionist
    )
    late = InvoiceFactory(lines=[D("80.00")])
    with pytest.raises(PaymentError, match="was closed at 17:00"):
        record_desk_payment(
            invoice=late, method="cash", amount=D("80.00"), idempotency_key="late", by=receptionist
        )
    assert not Payment.objects.filter(idempotency_key="late").exists()
    with pytest.raises(PaymentError, match="closed"):
        refund_payment(payment=day_of_rita, amount=D("5.00"), reason="More", by=receptionist)
    assert Refund.objects.count() == 1


def test_the_same_payment_form_sent_again_after_the_close_finds_its_payment(
    day_of_rita, receptionist, invoices
):
    close_cash_up(
        day=MONDAY, desk_user=receptionist, counted_cash=D("120.00"), note="", by=receptionist
    )
    again = record_desk_payment(
        invoice=invoices[0], method="cash", amount=D("80.00"), idempotency_key="a", by=receptionist
    )
    assert again == day_of_rita


def test_the_next_day_is_open(day_of_rita, receptionist, time_machine):
    close_cash_up(
        day=MONDAY, desk_user=receptionist, counted_cash=D("120.00"), note="", by=receptionist
    )
    time_machine.move_to(at(MONDAY + timedelta(days=1), 9), tick=False)
    payment = record_desk_payment(
        invoice=InvoiceFactory(lines=[D("80.00")]),
        method="cash",
        amount=D("80.00"),
        idempotency_key="tue",
        by=receptionist,
    )
    assert payment.pk


def test_closed_once(day_of_rita, receptionist):
    close_cash_up(
        day=MONDAY, desk_user=receptionist, counted_cash=D("120.00"), note="", by=receptionist
    )
    with pytest.raises(PaymentError, match="closed already"):
        close_cash_up(
            day=MONDAY, desk_user=receptionist, counted_cash=D("1.00"), note="", by=receptionist
        )
    assert CashUp.objects.get().counted_cash == D("120.00")


def test_reception_closes_only_its_own(day_of_rita, receptionist):
    other = ReceptionistFactory()
    with pytest.raises(PaymentError, match="only your own"):
        close_cash_up(day=MONDAY, desk_user=receptionist, counted_cash=D("1"), note="", by=other)


def test_a_manager_closes_anyone_s(day_of_rita, receptionist, manager):
    row = close_cash_up(
        day=MONDAY, desk_user=receptionist, counted_cash=D("120.00"), note="", by=manager
    )
    assert row.closed_by == manager
    assert row.difference == D("0.00")


# --- The page -----------------------------------------------------------------------


def test_reception_closes_today_from_the_page(day_of_rita, reception_client, receptionist):
    page = reception_client.get("/payments/cash-up/")
    assert page.status_code == 200
    assert b"120.00" in page.content
    assert b"Close the day" in page.content
    response = reception_client.post(
        "/payments/cash-up/",
        {"counted_cash": "118.50", "note": "Coins missing", "confirm": "yes"},
        follow=True,
    )
    assert b"The cash-up is closed." in response.content
    assert b"-1.50" in response.content
    assert CashUp.objects.get(desk_user=receptionist).is_closed


def test_the_page_refuses_a_bad_count(day_of_rita, reception_client):
    response = reception_client.post("/payments/cash-up/", {"counted_cash": "-3"})
    assert response.status_code == 200
    assert not CashUp.objects.filter(closed_at__isnull=False).exists()
    response = reception_client.get("/payments/cash-up/", {"day": "3026-01-01"})
    assert response.status_code == 200


def test_reception_sees_only_its_own_cash_up(day_of_rita, receptionist):
    other = ReceptionistFactory()
    page = signed_in(other).get("/payments/cash-up/", {"user": receptionist.pk})
    assert page.status_code == 200
    assert b"120.00" not in page.content


def test_a_manager_opens_a_desk_user_s_cash_up(day_of_rita, manager_client, receptionist):
    page = manager_client.get("/payments/cash-up/", {"user": receptionist.pk})
    assert b"120.00" in page.content


def test_doctors_cannot_open_the_cash_up(doctor_client):
    assert doctor_client.get("/payments/cash-up/").status_code == 403


def test_the_desk_payment_page_says_the_day_is_closed(day_of_rita, reception_client, receptionist):
    close_cash_up(
        day=MONDAY, desk_user=receptionist, counted_cash=D("120.00"), note="", by=receptionist
    )
    late = InvoiceFactory(lines=[D("80.00")])
    form = reception_client.get(f"/payments/invoices/{late.pk}/").context["payment_form"]
    response = reception_client.post(
        f"/payments/invoices/{late.pk}/pay-at-desk/",
        {"method": "cash", "amount": "80.00", "token": form.initial["token"]},
        follow=True,
    )
    assert response.status_code == 200
    assert b"was closed at 17:00" in response.content
    assert not late.payments.exists()


def test_a_refused_day_in_the_address_closes_nothing(day_of_rita, reception_client):
    future = (MONDAY + timedelta(days=3)).isoformat()
    response = reception_client.post(
        f"/payments/cash-up/?day={future}",
        {"counted_cash": "120.00", "confirm": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert b"Nothing was closed" in response.content
    assert b"Choose a day between five years ago and today." in response.content
    assert not CashUp.objects.filter(closed_at__isnull=False).exists()


def test_a_manager_s_refused_day_neither_closes_today_nor_drops_the_desk_user(
    day_of_rita, manager_client, receptionist
):
    future = (MONDAY + timedelta(days=3)).isoformat()
    url = f"/payments/cash-up/?day={future}&user={receptionist.pk}"
    page = manager_client.get(url)
    assert f'<input type="hidden" name="user" value="{receptionist.pk}">' in page.content.decode()
    response = manager_client.post(url, {"counted_cash": "120.00", "confirm": "yes"})
    assert response.status_code == 200
    assert b"Nothing was closed" in response.content
    assert not CashUp.objects.filter(closed_at__isnull=False).exists()


def test_an_unknown_desk_user_in_the_address_closes_nothing(day_of_rita, manager_client):
    response = manager_client.post(
        f"/payments/cash-up/?day={MONDAY.isoformat()}&user=999999",
        {"counted_cash": "0", "confirm": "yes"},
    )
    assert b"Nothing was closed" in response.content
    assert not CashUp.objects.filter(closed_at__isnull=False).exists()


@pytest.mark.parametrize("count", ["-0.01", "-3", "-1e2", "abc"])
def test_a_negative_count_is_refused(day_of_rita, reception_client, count):
    response = reception_client.post("/payments/cash-up/", {"counted_cash": count})
    assert response.status_code == 200
    assert b"is-invalid" in response.content
    assert not CashUp.objects.filter(closed_at__isnull=False).exists()


@pytest.mark.parametrize("count", ["-0", "-0.00", "-0E+5"])
def test_minus_zero_is_a_count_of_nothing(day_of_rita, reception_client, receptionist, count):
    response = reception_client.post(
        "/payments/cash-up/", {"counted_cash": count, "confirm": "yes"}, follow=True
    )
    assert b"The cash-up is closed." in response.content
    row = CashUp.objects.get(desk_user=receptionist)
    assert str(row.counted_cash) == "0.00"
    assert str(row.difference) == "-120.00"
    assert b"-0.00" not in response.content


@pytest.mark.parametrize("count", ["-0", "-0.00", "-0E+5"])
def test_the_close_form_keeps_minus_zero_as_zero(count):
    form = CloseForm({"counted_cash": count})
    assert form.is_valid()
    assert not form.cleaned_data["counted_cash"].is_signed()
    assert str(form.cleaned_data["counted_cash"]) == "0.00"


def test_closing_asks_once_more_with_the_difference(day_of_rita, reception_client):
    response = reception_client.post("/payments/cash-up/", {"counted_cash": "118.50"})

    assert b"a difference of" in response.content
    assert not CashUp.objects.filter(closed_at__isnull=False).exists()
