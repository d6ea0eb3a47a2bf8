"""The report pages in admin: managers only, a chart, a table, and CSV equal to
the table; bad input gets a message, not an error."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal as D
from html.parser import HTMLParser

import pytest

from clinic.kernel.tables import Column, Table
from clinic.reports.views import as_csv
from tests import report_scene
from tests.factories import InvoiceFactory, PatientFactory

NOVEMBER = {"preset": "custom", "first": "2026-11-01", "last": "2026-11-30"}
REPORTS = ["attendance", "utilisation", "takings", "receivables", "messages"]


@pytest.fixture
def scene(time_machine, smith, jones, jane, bob, consultation, manager):
    return report_scene.build(
        time_machine,
        smith=smith,
        jones=jones,
        jane=jane,
        bob=bob,
        consultation=consultation,
        manager=manager,
    )


class TableText(HTMLParser):
    """The text of each cell of the page's report tables: header first."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._in_table = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("class", "report-table") in attrs:
            self._in_table = True
            self.tables.append([])
        elif self._in_table and tag == "tr":
            self.tables[-1].append([])
        elif self._in_table and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = False
        elif self._in_table and tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def page_tables(response) -> list[list[list[str]]]:
    parser = TableText()
    parser.feed(response.content.decode())
    return parser.tables


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


NUMBER = re.compile(r"-?\d+(\.\d+)?%?")


def as_in_csv(text: str) -> str:
    """A table cell's text as the CSV has it: a `'` before text a spreadsheet would
    run as a formula; numbers (negative amounts too) unchanged."""
    if text.startswith(("=", "+", "-", "@", "\t", "\r")) and not NUMBER.fullmatch(text):
        return "'" + text
    return text


@pytest.mark.parametrize("slug", REPORTS)
def test_manager_opens_each_report_with_its_chart(scene, manager_client, slug):
    query = {**NOVEMBER, "as_of": "2026-11-30"}
    response = manager_client.get(f"/admin/reports/{slug}/", query)
    assert response.status_code == 200
    assert b'class="report-chart"' in response.content
    assert b"<rect" in response.content


@pytest.mark.parametrize(
    ("slug", "query"),
    [
        ("attendance", {**NOVEMBER, "group": "weekday"}),
        ("utilisation", {**NOVEMBER, "group": "week"}),
        ("takings", {**NOVEMBER, "group": "method"}),
        ("takings", {**NOVEMBER, "group": "day", "method": "cash"}),
        ("receivables", {"as_of": "2026-11-30", "older_than": "30"}),
        ("messages", NOVEMBER),
    ],
)
def test_csv_is_exactly_the_table(scene, manager_client, slug, query):
    page = manager_client.get(f"/admin/reports/{slug}/", query)
    tables = page_tables(page)
    assert tables
    assert len(tables[0]) > 1
    for index, table in enumerate(tables):
        if table[1:] and len(table[1]) == 1:  # "Nothing in this period."
            table = table[:1]
        exported = manager_client.get(
            f"/admin/reports/{slug}/", {**query, "format": "csv", "table": index}
        )
        assert csv_rows(exported) == [[as_in_csv(text) for text in row] for row in table]


FORMULA_NAMES = ['=HYPERLINK("http://evil.example/","Click")', "+1", "-2+3", "@SUM(A1)", "\tTab"]


def test_a_patient_named_like_a_formula_is_text_in_the_csv(manager_client):
    for index, name in enumerate(FORMULA_NAMES):
        patient = PatientFactory(given_name=name, family_name="Doe")
        InvoiceFactory(session__patient=patient, lines=[D("10.00") + index])
    page = manager_client.get("/admin/reports/receivables/")
    exported = csv_rows(
        manager_client.get("/admin/reports/receivables/", {"format": "csv", "table": 1})
    )
    names = [row[0] for row in exported[1:]]
    assert sorted(names) == sorted(f"'{name} Doe" for name in FORMULA_NAMES)
    # The page shows the names as they are; amounts stay numbers in the CSV.
    assert (
        "=HYPERLINK(&quot;http://evil.example/&quot;,&quot;Click&quot;) Doe"
        in page.content.decode()
    )
    assert all(NUMBER.fullmatch(cell) for row in exported[1:] for cell in row[1:-1] if cell)
    assert any(cell == "10.00" for row in exported[1:] for cell in row[1:-1])


def test_numbers_stay_numbers_in_the_csv():
    table = Table(
        columns=[
            Column("label", "Label", "text"),
            Column("net", "Net", "money"),
            Column("count", "Count", "int"),
        ],
        rows=[
            {"label": "-Refunds", "net": D("-12.50"), "count": -3},
            {"label": -4, "net": D("0"), "count": 0},
        ],
    )
    exported = csv_rows(as_csv(table, "x.csv"))
    assert exported == [
        ["Label", "Net", "Count"],
        ["'-Refunds", "-12.50", "-3"],
        ["-4", "0.00", "0"],
    ]


def test_takings_csv_has_the_hand_computed_cash_figures(scene, manager_client):
    exported = manager_client.get(
        "/admin/reports/takings/", {**NOVEMBER, "group": "method", "format": "csv"}
    )
    assert ["Cash", "72.00", "20.00", "52.00"] in csv_rows(exported)


def test_who_owes_for_more_than_60_days_links_to_the_invoice(scene, manager_client):
    response = manager_client.get(
        "/admin/reports/receivables/", {"as_of": "2026-11-30", "older_than": "60"}
    )
    body = response.content.decode()
    assert "Jane Doe" in body
    assert "Bob Brown" not in body
    assert f'href="/payments/invoices/{scene.invoices["I5"].pk}/"' in body


@pytest.mark.parametrize(
    "query",
    [
        {"preset": "custom", "first": "2026-11-30", "last": "2026-11-01"},
        {"preset": "custom", "first": "yesterday"},
        {"preset": "custom", "first": "2000-01-01", "last": "2026-11-01"},
        {"preset": "next_century"},
        {"preset": "today", "doctor": "999999", "group": "galaxy"},
    ],
)
def test_bad_input_gets_a_message(scene, manager_client, query):
    response = manager_client.get("/admin/reports/attendance/", query)
    assert response.status_code == 200
    assert b"errorlist" in response.content or b"errornote" in response.content


EXTREME_PERIODS = [
    {"preset": "custom", "first": "9999-12-31", "last": "9999-12-31"},
    {"preset": "custom", "first": "0001-01-01", "last": "0001-01-01"},
    {"preset": "custom", "first": "1899-12-31", "last": "1900-01-02"},
    {"preset": "custom", "first": "2026-11-01", "last": "9999-12-31"},
]


@pytest.mark.parametrize("slug", ["attendance", "utilisation", "takings", "messages"])
@pytest.mark.parametrize("query", EXTREME_PERIODS)
def test_an_extreme_period_gets_a_message_and_nothing_computed(scene, manager_client, slug, query):
    response = manager_client.get(f"/admin/reports/{slug}/", query)
    assert response.status_code == 200
    assert b"Choose a day between 1900-01-01 and" in response.content
    assert response.context["sections"] == []
    exported = manager_client.get(f"/admin/reports/{slug}/", {**query, "format": "csv"})
    assert exported.status_code == 200
    assert not exported["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01", "1899-12-31"])
def test_an_extreme_as_of_day_gets_a_message_and_nothing_computed(scene, manager_client, as_of):
    response = manager_client.get("/admin/reports/receivables/", {"as_of": as_of})
    assert response.status_code == 200
    assert b"Choose a day between 1900-01-01 and" in response.content
    assert response.context["sections"] == []


def test_an_unknown_report_is_not_found(manager_client):
    assert manager_client.get("/admin/reports/horoscope/").status_code == 404


@pytest.mark.parametrize("slug", ["", *REPORTS])
def test_reception_and_doctors_cannot_open_the_reports(reception_client, doctor_client, slug):
    assert reception_client.get(f"/admin/reports/{slug}/").status_code in (302, 403)
    assert doctor_client.get(f"/admin/reports/{slug}/").status_code in (302, 403)


def test_a_staff_user_who_is_not_a_manager_cannot_open_them(db):
    from tests.factories import ReceptionistFactory
    from tests.helpers import signed_in

    clerk = ReceptionistFactory(is_staff=True)
    assert signed_in(clerk).get("/admin/reports/takings/").status_code == 403


@pytest.mark.parametrize("slug", REPORTS)
def test_page_queries_do_not_grow_with_the_period(
    scene, manager_client, slug, django_assert_max_num_queries
):
    short = {"preset": "custom", "first": "2026-11-02", "last": "2026-11-02"}
    long = {"preset": "custom", "first": "2024-01-01", "last": "2026-11-30"}
    for query in (short, long):
        with django_assert_max_num_queries(14):
            assert manager_client.get(f"/admin/reports/{slug}/", query).status_code == 200


# --- The dashboard ------------------------------------------------------------------


def test_the_dashboard_on_the_admin_home(scene, manager_client, time_machine, receptionist):
    from payments.services import record_desk_payment
    from scheduling.models import Status
    from tests.factories import AppointmentFactory, InvoiceFactory

    # Monday 30 Nov, 11:00: Jane is waiting for Dr Smith; 25.00 taken in cash.
    time_machine.move_to(report_scene.nov(30, 11), tick=False)
    AppointmentFactory(
        doctor=scene.smith,
        patient=scene.jane,
        service=scene.consultation,
        starts_at=report_scene.nov(30, 11),
        status=Status.ARRIVED,
    )
    record_desk_payment(
        invoice=InvoiceFactory(lines=[D("25.00")]),
        method="cash",
        amount=D("25.00"),
        idempotency_key="today",
        by=receptionist,
    )
    response = manager_client.get("/admin/")
    assert response.status_code == 200
    dashboard = response.context["dashboard"]
    assert dashboard["waiting"] == 1
    assert dashboard["takings"] == [("Cash", D("25.00"))]
    # I4 (70.00) and I5 (80.00) are open.
    assert (dashboard["open_invoices"], dashboard["owed"]) == (2, D("150.00"))
    assert b'href="/admin/reports/receivables/"' in response.content


def test_the_dashboard_s_queries_are_few(scene, manager_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(14):
        assert manager_client.get("/admin/").status_code == 200


@pytest.mark.parametrize("page", ["abc", "0", "99999", "-1"])
def test_a_page_number_typed_in_the_address_shows_a_page(scene, manager_client, page):
    response = manager_client.get(
        "/admin/reports/receivables/", {"as_of": "2026-11-30", "page": page}
    )
    assert response.status_code == 200
    assert b"Jane Doe" in response.content


def test_the_period_box_names_the_reports_own_default_period(manager_client):
    # Utilisation shows this week when the address names no period (the dashboard's
    # link); the box said "Today" beside a week's figures.
    response = manager_client.get("/admin/reports/utilisation/")

    assert response.context["form"]["preset"].value() == "this_week"
    assert '<option value="this_week" selected>' in response.content.decode()


@pytest.mark.parametrize("language", ["es", "ar"])
def test_the_charts_coordinates_are_numbers_svg_reads_in_every_language(
    scene, manager_client, language
):
    """Spanish and Arabic write 12,5 for 12.5: the chart's coordinates must not."""
    manager_client.cookies["django_language"] = language
    response = manager_client.get("/admin/reports/takings/", {**NOVEMBER, "as_of": "2026-11-30"})

    page = response.content.decode()
    assert f'lang="{language}"' in page
    coordinates = re.findall(r'<rect class="bar[^"]*" x="([^"]+)" y="([^"]+)"', page)
    assert coordinates
    assert all("," not in x + y for x, y in coordinates)
