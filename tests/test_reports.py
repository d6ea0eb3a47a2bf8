"""The report selectors against the hand-made November of tests/report_scene.py:
every expected figure is worked out by hand from the scene's story."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from clinic.kernel.periods import Period, preset_period
from notifications.reports import messages, reminder_effect
from payments.reports import receivables, receivables_by_age, takings
from scheduling.models import AppointmentChange, Status
from scheduling.reports import attendance, utilisation
from tests import report_scene

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
D = Decimal


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


def by(table, key):
    return {row[key]: row for row in table.rows}


# --- Periods ------------------------------------------------------------------------


def test_the_day_the_clocks_go_back_is_25_hours():
    day = Period(date(2026, 11, 1), date(2026, 11, 1))
    assert (day.ends_at - day.starts_at).total_seconds() == 25 * 3600


def test_presets_are_clinic_days():
    today = date(2026, 12, 2)  # a Wednesday
    assert preset_period("today", today) == Period(today, today)
    assert preset_period("this_week", today) == Period(date(2026, 11, 30), date(2026, 12, 6))
    assert preset_period("last_month", today) == Period(date(2026, 11, 1), date(2026, 11, 30))
    assert preset_period("this_year", today) == Period(date(2026, 1, 1), date(2026, 12, 31))


# --- Attendance ---------------------------------------------------------------------


def test_attendance_by_doctor(scene):
    rows = by(attendance(period=NOVEMBER, group="doctor"), "label")
    smith, jones = rows["Alan Smith"], rows["Grace Jones"]
    # Smith: A1, A2, A3, A7. Came: A1, A7; no-show A2; A3 cancelled 13 hours before.
    assert (smith["appointments"], smith["attended"], smith["no_shows"]) == (4, 2, 1)
    assert (smith["cancelled"], smith["late_cancelled"]) == (1, 1)
    assert smith["no_show_rate"] == D("33.3")  # 1 of the 3 not cancelled
    assert smith["late_cancel_rate"] == D("25.0")  # 1 of 4
    # Booked ahead: A2 21 hours, A3 6 days, A1 13 days, A7 7 days 11.5 hours.
    assert (
        smith["ahead_same_day"],
        smith["ahead_week"],
        smith["ahead_month"],
        smith["ahead_more"],
    ) == (1, 1, 2, 0)
    # Jones: A4 cancelled 8 days before (not late), A5 came.
    assert (
        jones["appointments"],
        jones["attended"],
        jones["cancelled"],
        jones["late_cancelled"],
    ) == (2, 1, 1, 0)
    assert jones["no_show_rate"] == D("0.0")
    assert (jones["ahead_week"], jones["ahead_more"]) == (1, 1)


def test_attendance_by_weekday_and_hour_counts_in_the_clinic_zone(scene):
    # A7 starts on Sunday 23:30 in New York, which is Monday 04:30 in UTC.
    weekdays = by(attendance(period=NOVEMBER, group="weekday"), "label")
    assert weekdays["Sunday"]["appointments"] == 1
    assert weekdays["Monday"]["appointments"] == 5
    hours = by(attendance(period=NOVEMBER, group="hour"), "label")
    assert hours["23:00"]["appointments"] == 1
    assert hours["09:00"]["appointments"] == 4
    assert hours["10:00"]["no_shows"] == 1


def test_attendance_by_how_it_was_booked(scene):
    online = scene.appointments["A1"]
    AppointmentChange.objects.create(
        appointment=online,
        action=AppointmentChange.Action.BOOKED,
        via=AppointmentChange.Via.ONLINE,
        changed_at=online.created_at,
        to_status=Status.BOOKED,
        to_starts_at=online.starts_at,
        to_ends_at=online.ends_at,
    )

    rows = {
        row["label"]: row["appointments"]
        for row in attendance(period=NOVEMBER, group="channel").rows
    }

    everyone = sum(row["appointments"] for row in attendance(period=NOVEMBER, group="doctor").rows)
    assert rows == {"Online, by the patient": 1, "At the desk": everyone - 1}


def test_the_late_cancel_cutoff_is_the_callers(scene):
    # A3 was cancelled 13 hours before its start: late under 24 hours, not under 12.
    smith = by(attendance(period=NOVEMBER, group="doctor", late_cancel_hours=12), "label")[
        "Alan Smith"
    ]

    assert smith["late_cancelled"] == 0


def test_attendance_filters_by_doctor_and_service(scene):
    only = attendance(period=NOVEMBER, group="service", doctor=scene.smith.pk)
    assert {row["label"]: row["appointments"] for row in only.rows} == {
        "Consultation": 3,
        "X-ray": 1,
    }
    xray = attendance(period=NOVEMBER, group="doctor", service=scene.xray.pk)
    assert [(row["label"], row["late_cancelled"]) for row in xray.rows] == [("Alan Smith", 1)]


# --- Utilisation --------------------------------------------------------------------


def test_utilisation_per_day_with_time_off_and_the_long_day(scene):
    table = utilisation(period=Period(date(2026, 11, 1), date(2026, 11, 2)), by="day")
    rows = {(row["doctor"], row["day"]): row for row in table.rows}
    # Jones's night clinic 01:00-03:00 lasts 3 hours on the day the clocks go back.
    assert rows[("Grace Jones", "2026-11-01")]["working_minutes"] == 180
    assert rows[("Grace Jones", "2026-11-02")]["working_minutes"] == 480
    # Smith does not work Sundays, but A7 (30 min) was booked at 23:30.
    sunday = rows[("Alan Smith", "2026-11-01")]
    assert (sunday["working_minutes"], sunday["booked_minutes"], sunday["utilisation"]) == (
        0,
        30,
        None,
    )
    # Monday: 8 hours less 2 hours off; A1 and the no-show A2 held 60 minutes.
    monday = rows[("Alan Smith", "2026-11-02")]
    assert (monday["working_minutes"], monday["booked_minutes"], monday["free_minutes"]) == (
        360,
        60,
        300,
    )
    assert monday["utilisation"] == D("16.7")


def test_utilisation_per_week(scene):
    table = utilisation(
        period=Period(date(2026, 11, 2), date(2026, 11, 15)), by="week", doctor=scene.smith.pk
    )
    # Week of 2 Nov: 360 working, 60 booked; week of 9 Nov: 480, A3 was cancelled.
    assert [(r["day"], r["working_minutes"], r["booked_minutes"]) for r in table.rows] == [
        ("2026-11-02", 360, 60),
        ("2026-11-09", 480, 0),
    ]


# --- Takings ------------------------------------------------------------------------


def test_takings_per_day(scene):
    rows = by(takings(period=NOVEMBER, group="day"), "label")
    # I2 was issued and paid at 23:50 on 1 Nov (04:50 UTC on the 2nd).
    assert (rows["2026-11-01"]["invoiced"], rows["2026-11-01"]["collected"]) == (
        D("130.00"),
        D("130.00"),
    )
    # I1: 80.00 invoiced, 10% off, 72.00 in cash.
    nov2 = rows["2026-11-02"]
    assert (nov2["invoiced"], nov2["discounted"], nov2["collected"], nov2["net"]) == (
        D("80.00"),
        D("8.00"),
        D("72.00"),
        D("72.00"),
    )
    assert (rows["2026-11-03"]["refunded"], rows["2026-11-03"]["net"]) == (D("20.00"), D("-20.00"))
    assert rows["2026-11-20"]["written_off"] == D("10.00")
    # I3 was void: nothing of 16 Nov.
    assert "2026-11-16" not in rows
    assert all(isinstance(row["net"], Decimal) for row in rows.values())


def test_takings_by_method_and_doctor(scene):
    methods = by(takings(period=NOVEMBER, group="method"), "label")
    assert (methods["Cash"]["collected"], methods["Cash"]["refunded"], methods["Cash"]["net"]) == (
        D("72.00"),
        D("20.00"),
        D("52.00"),
    )
    assert methods["Card terminal"]["net"] == D("130.00")
    doctors = by(takings(period=NOVEMBER, group="doctor"), "label")
    smith = doctors["Alan Smith"]
    assert (smith["invoiced"], smith["discounted"], smith["collected"], smith["refunded"]) == (
        D("210.00"),
        D("8.00"),
        D("202.00"),
        D("20.00"),
    )
    assert doctors["Grace Jones"]["written_off"] == D("10.00")


def test_takings_filters(scene):
    cash = takings(period=NOVEMBER, group="day", method="cash")
    assert [c.key for c in cash.columns] == ["label", "collected", "refunded", "net"]
    assert [(r["label"], r["net"]) for r in cash.rows] == [
        ("2026-11-02", D("72.00")),
        ("2026-11-03", D("-20.00")),
    ]
    # The X-ray's part of I2 (80.00 + 50.00, paid 130.00): its 50.00, not the invoice.
    xray = takings(period=NOVEMBER, group="month", service=scene.xray.pk)
    assert [(r["label"], r["invoiced"], r["collected"]) for r in xray.rows] == [
        ("2026-11", D("50.00"), D("50.00"))
    ]
    card_xray = takings(period=NOVEMBER, group="method", service=scene.xray.pk)
    assert [(r["label"], r["net"]) for r in card_xray.rows] == [("Card terminal", D("50.00"))]


def test_takings_by_service_share_each_invoice_among_its_lines(scene):
    rows = by(takings(period=NOVEMBER, group="service"), "label")
    consultation, xray = rows["Consultation"], rows["X-ray"]
    # Consultation: I1 (80.00, 8.00 off, 72.00 cash, 20.00 back) and I2's 80.00 of
    # 130.00 paid; I4's write-off (only a consultation on it). I3 was void.
    assert (
        consultation["invoiced"],
        consultation["discounted"],
        consultation["written_off"],
        consultation["collected"],
        consultation["refunded"],
        consultation["net"],
    ) == (D("160.00"), D("8.00"), D("10.00"), D("152.00"), D("20.00"), D("132.00"))
    assert (xray["invoiced"], xray["collected"], xray["net"]) == (
        D("50.00"),
        D("50.00"),
        D("50.00"),
    )


def test_takings_share_a_part_payment_by_line_in_exact_cents(scene, time_machine, manager):
    # 20.00 + 10.00 of lines, 10.00 paid: the consultation's part 6.67, the X-ray's 3.33.
    invoice = report_scene.extra_invoice(
        time_machine,
        scene,
        [(scene.consultation, "20.00"), (scene.xray, "10.00")],
        paid="10.00",
        by=manager,
    )
    day = Period(date(2026, 11, 25), date(2026, 11, 25))
    rows = by(takings(period=day, group="service"), "label")
    assert (rows["Consultation"]["collected"], rows["X-ray"]["collected"]) == (
        D("6.67"),
        D("3.33"),
    )
    assert invoice.lines.count() == 2


# --- Receivables --------------------------------------------------------------------


def test_receivables_aged_by_patient(scene):
    table = receivables(as_of=date(2026, 11, 30))
    rows = by(table, "patient")
    # I4 (Bob, 5 Oct: 56 days, 70.00 after the write-off); I5 (Jane, 17 Aug: 105 days).
    assert rows["Bob Brown"]["age_31_60"] == D("70.00")
    assert rows["Bob Brown"]["total"] == D("70.00")
    assert rows["Jane Doe"]["age_over_90"] == D("80.00")
    assert [number for number, _url in rows["Jane Doe"]["invoices"]] == ["000005"]
    ages = receivables_by_age(as_of=date(2026, 11, 30))
    assert [(row["age"], row["due"]) for row in ages.rows] == [
        ("0–30 days", D("0.00")),
        ("31–60 days", D("70.00")),
        ("61–90 days", D("0.00")),
        ("Over 90 days", D("80.00")),
    ]


def test_receivables_one_page_at_a_time(scene):
    first = receivables(as_of=date(2026, 11, 30), page=1, per_page=1)
    assert ([row["patient"] for row in first.rows], first.total_rows) == (["Bob Brown"], 2)
    second = receivables(as_of=date(2026, 11, 30), page=2, per_page=1)
    assert [row["patient"] for row in second.rows] == ["Jane Doe"]
    assert [n for n, _url in second.rows[0]["invoices"]] == ["000005"]
    beyond = receivables(as_of=date(2026, 11, 30), page=99, per_page=1)
    assert [row["patient"] for row in beyond.rows] == ["Jane Doe"]


def test_who_owes_for_more_than_60_days(scene):
    table = receivables(as_of=date(2026, 11, 30), older_than_days=60)
    assert [row["patient"] for row in table.rows] == ["Jane Doe"]


# --- Messages -----------------------------------------------------------------------


def test_messages_per_day(scene):
    rows = by(messages(period=NOVEMBER), "day")
    assert (
        rows["2026-11-01"]["texts"],
        rows["2026-11-01"]["sent"],
        rows["2026-11-01"]["confirmed_by_reply"],
    ) == (1, 1, 1)
    nov2 = rows["2026-11-02"]
    assert (nov2["texts"], nov2["sent"], nov2["delivered"], nov2["failed"], nov2["opt_outs"]) == (
        2,
        1,
        1,
        1,
        1,
    )


def test_no_show_rate_with_and_without_a_reminder(scene):
    rows = reminder_effect(period=NOVEMBER).rows
    # Due: A1 (reminded, came), A2 (no-show), A5 and A7 (came, no reminder).
    assert (rows[0]["appointments"], rows[0]["no_shows"], rows[0]["no_show_rate"]) == (
        1,
        0,
        D("0.0"),
    )
    assert (rows[1]["appointments"], rows[1]["no_shows"], rows[1]["no_show_rate"]) == (
        3,
        1,
        D("33.3"),
    )


# --- Bounded queries ----------------------------------------------------------------


@pytest.mark.parametrize("days", [1, 365 * 3])
def test_queries_do_not_grow_with_the_period(scene, days, django_assert_max_num_queries):
    period = Period(
        date(2026, 11, 30).fromordinal(date(2026, 11, 30).toordinal() - days + 1),
        date(2026, 11, 30),
    )
    with django_assert_max_num_queries(3):
        attendance(period=period, group="doctor")
    with django_assert_max_num_queries(4):
        utilisation(period=period)
    with django_assert_max_num_queries(5):
        takings(period=period, group="doctor")
    with django_assert_max_num_queries(5):
        takings(period=period, group="service")
    with django_assert_max_num_queries(3):
        receivables(as_of=period.last, older_than_days=30, page=1)
    with django_assert_max_num_queries(1):
        receivables_by_age(as_of=period.last)
    with django_assert_max_num_queries(3):
        messages(period=period)
    with django_assert_max_num_queries(2):
        reminder_effect(period=period)
