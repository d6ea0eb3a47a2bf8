"""Reception's invoice search looks at every status (issue 16, point 7): a number,
a patient's name or the day of issue finds void, refunded, disputed, written-off
and paid invoices as well as those still due; a status chosen narrows it; the list
costs the same queries whatever it finds."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from payments.adjustment_services import write_off
from payments.models import Invoice, InvoiceStatus, Payment, PaymentStatus
from payments.provider_services import record_provider_dispute
from payments.services import (
    new_payment_token,
    record_desk_payment,
    refresh_totals,
    refund_payment,
    void_invoice,
)
from tests.factories import InvoiceFactory, PatientFactory, SessionFactory

D = Decimal
URL = "/payments/invoices/"


def pay(invoice: Invoice, amount: str, method: str = "cash") -> Payment:
    return record_desk_payment(
        invoice=invoice,
        method=method,
        amount=D(amount),
        idempotency_key=new_payment_token(),
        by=None,
    )


def paid_online_then_disputed(invoice: Invoice) -> None:
    payment = Payment.objects.create(
        invoice=invoice,
        method="stripe",
        amount=D("80.00"),
        status=PaymentStatus.SUCCEEDED,
        idempotency_key=f"checkout-{invoice.pk}",
        payment_intent_id=f"pi_{invoice.pk}",
    )
    refresh_totals(invoice)
    record_provider_dispute(
        payment=payment,
        provider_dispute_id=f"dp_{invoice.pk}",
        amount=D("80.00"),
        status="needs_response",
        reason="fraudulent",
    )


@pytest.fixture
def smiths_invoices(db, manager) -> dict[str, Invoice]:
    """Seven invoices of Anna Smithson, one of each status, issued a day apart from
    Monday 2 March 2026; and one of someone else, due."""
    anna = PatientFactory(given_name="Anna", family_name="Smithson")
    kinds = [
        "open",
        "paid",
        "void",
        "refunded",
        "partially_refunded",
        "disputed",
        "written_off",
    ]
    invoices = {}
    for day, kind in enumerate(kinds, start=2):
        invoices[kind] = InvoiceFactory(
            session=SessionFactory(completed=True, patient=anna),
            issued_at=datetime(2026, 3, day, 15, tzinfo=UTC),
        )
    pay(invoices["paid"], "80.00")
    void_invoice(invoice=invoices["void"], reason="Entered twice", by=manager)
    refund_payment(
        payment=pay(invoices["refunded"], "80.00"), amount=D("80.00"), reason="Cancelled", by=None
    )
    refund_payment(
        payment=pay(invoices["partially_refunded"], "80.00"),
        amount=D("20.00"),
        reason="Overcharged",
        by=None,
    )
    paid_online_then_disputed(invoices["disputed"])
    write_off(invoice=invoices["written_off"], reason="Moved away", by=manager)
    InvoiceFactory(
        session=SessionFactory(completed=True, patient=PatientFactory(family_name="Jones"))
    )
    found = {kind: Invoice.objects.get(pk=invoice.pk) for kind, invoice in invoices.items()}
    assert {kind: invoice.status for kind, invoice in found.items()} == {
        kind: kind for kind in kinds
    }
    return found


def listed(client: Client, **query) -> list[Invoice]:
    response = client.get(URL, query)
    assert response.status_code == 200
    return list(response.context["invoices"])


def newest_first(invoices: dict[str, Invoice], *kinds: str) -> list[Invoice]:
    return sorted((invoices[kind] for kind in kinds), key=lambda i: i.issued_at, reverse=True)


def test_a_patients_name_finds_their_invoices_of_every_status(reception_client, smiths_invoices):
    assert listed(reception_client, q="smithson") == newest_first(smiths_invoices, *smiths_invoices)


def test_the_form_as_sent_by_the_page_searches_every_status(reception_client, smiths_invoices):
    # The page sends its "show" choice along with the search, at its default.
    assert len(listed(reception_client, show="", q="anna smith")) == 7


@pytest.mark.parametrize("kind", ["paid", "void", "refunded", "disputed", "written_off"])
def test_an_invoice_number_finds_it_whatever_its_status(reception_client, smiths_invoices, kind):
    invoice = smiths_invoices[kind]

    assert listed(reception_client, q=invoice.display_number) == [invoice]
    assert listed(reception_client, q=str(invoice.number)) == [invoice]


def test_the_day_of_issue_finds_invoices_of_every_status(reception_client, smiths_invoices):
    # The void one was issued on Wednesday 4 March, 15:00 UTC (10:00 in New York).
    assert listed(reception_client, issued="2026-03-04") == [smiths_invoices["void"]]


def test_the_day_of_issue_is_the_clinics_day(reception_client, db):
    # 03:00 UTC on 5 March is still 4 March, 22:00, in New York.
    late = InvoiceFactory(issued_at=datetime(2026, 3, 5, 3, tzinfo=UTC))

    assert listed(reception_client, issued="2026-03-04") == [late]
    assert listed(reception_client, issued="2026-03-05") == []


def test_name_and_day_narrow_each_other(reception_client, smiths_invoices):
    assert listed(reception_client, q="smithson", issued="2026-03-03") == [smiths_invoices["paid"]]
    assert listed(reception_client, q="jones", issued="2026-03-03") == []


@pytest.mark.parametrize(
    ("show", "kinds"),
    [
        ("due", ["open", "disputed"]),
        ("paid", ["paid"]),
        ("refunded", ["refunded", "partially_refunded"]),
        ("written_off", ["written_off"]),
        ("disputed", ["disputed"]),
        ("void", ["void"]),
    ],
)
def test_a_status_chosen_narrows_the_search(reception_client, smiths_invoices, show, kinds):
    assert listed(reception_client, show=show, q="smithson") == newest_first(
        smiths_invoices, *kinds
    )


def test_without_a_search_the_list_is_the_balance_due(reception_client, smiths_invoices):
    due = listed(reception_client)

    # The disputed one is due again: Stripe took the money back.
    assert {invoice.patient.family_name for invoice in due} == {"Smithson", "Jones"}
    assert smiths_invoices["open"] in due
    assert smiths_invoices["disputed"] in due
    assert len(due) == 3


@pytest.mark.parametrize(
    "query",
    [{"q": "\x00"}, {"q": "smith\x00son"}, {"issued": "not a day"}, {"issued": "99999-01-01"}],
)
def test_nonsense_in_the_search_is_no_error(reception_client, smiths_invoices, query):
    response = reception_client.get(URL, query)

    assert response.status_code == 200


def queries_for(client: Client, **query) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL, query).status_code == 200
    return len(captured)


def smiths_invoice(*, refunded: bool) -> Invoice:
    invoice = InvoiceFactory(
        session=SessionFactory(completed=True, patient=PatientFactory(family_name="Smithson")),
        issued_at=datetime(2026, 3, 4, 15, tzinfo=UTC),
    )
    if refunded:
        refund_payment(payment=pay(invoice, "80.00"), amount=D("5.00"), reason="Over", by=None)
    return invoice


@pytest.mark.parametrize(
    "query",
    [{}, {"q": "smithson"}, {"show": "all"}, {"issued": "2026-03-04"}, {"show": "refunded"}],
)
def test_the_list_costs_the_same_queries_whatever_it_finds(reception_client, db, query):
    smiths_invoice(refunded=False)
    smiths_invoice(refunded=True)
    few = queries_for(reception_client, **query)

    for number in range(12):
        smiths_invoice(refunded=bool(number % 2))

    assert queries_for(reception_client, **query) == few


def test_every_status_has_a_choice_in_the_list(reception_client, db):
    form = reception_client.get(URL).context["form"]
    choices = {value for value, _ in form.fields["show"].choices}

    for status in InvoiceStatus.values:
        assert status in choices or status in ("open", "partially_refunded"), status
