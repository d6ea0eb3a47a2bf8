"""A small clinic's November 2026, made by hand, for the report tests: every figure
the reports should give is worked out by hand in tests/test_reports.py.

November 1st is the Sunday the clocks go back (a 25-hour day in New York).

Appointments (start, clinic time):
  A1 Smith, Jane, consultation, Mon 2 Nov 09:00, completed, booked 20 Oct
  A2 Smith, Bob, consultation, Mon 2 Nov 10:00, no-show, booked 1 Nov 12:00
  A3 Smith, Jane, X-ray, Mon 9 Nov 09:00, cancelled 8 Nov 20:00 (late), booked 3 Nov
  A4 Jones, Bob, consultation, Mon 9 Nov 09:00, cancelled 1 Nov (early), booked 1 Oct
  A5 Jones, Jane, consultation, Mon 16 Nov 09:00, completed, booked 10 Nov
  A7 Smith, Bob, consultation, Sun 1 Nov 23:30 (04:30 UTC on the 2nd), completed,
     booked 25 Oct
  A8 Jones, Bob, consultation, Mon 5 Oct 09:00, completed (October: outside)
  A9 Smith, Jane, consultation, Mon 17 Aug 09:00, completed (outside)

Invoices:
  I1 (A1) 80.00 issued 2 Nov 10:00; 10% discount 2 Nov 10:05; 72.00 cash 2 Nov 10:10;
     20.00 refunded 3 Nov 11:00 (money returned)
  I2 (A7) 80.00 + X-ray 50.00 issued and paid 130.00 by card 1 Nov 23:50
  I3 (A5) 80.00 issued 16 Nov 10:00, void the same day
  I4 (A8) 80.00 issued 5 Oct 10:00; 10.00 written off 20 Nov; open 70.00
  I5 (A9) 80.00 issued 17 Aug 10:00; open 80.00
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal

from django.contrib.auth.models import User

from doctors.models import Doctor, TimeOff, Weekday, WorkingHours
from notifications.models import Channel, InboundMessage, Notification
from notifications.models import Status as MessageStatus
from notifications.rules import REMINDER
from patients.models import Patient
from payments.adjustment_services import give_discount, write_off
from payments.models import Invoice, InvoiceLine
from payments.services import record_desk_payment, refund_payment, void_invoice
from payments.totals import refresh_totals
from scheduling.models import Appointment, AppointmentChange, Service, Status
from sessions_app.models import Session, SessionStatus
from tests.clock import at
from tests.factories import AppointmentFactory, ServiceFactory

NOV = 11


def nov(day: int, hour: int, minute: int = 0):
    return at(date(2026, NOV, day), hour, minute)


@dataclass
class Scene:
    smith: Doctor
    jones: Doctor
    jane: Patient
    bob: Patient
    consultation: Service
    xray: Service
    appointments: dict[str, Appointment]
    invoices: dict[str, Invoice]


def _appointment(time_machine, *, created, **fields) -> Appointment:
    time_machine.move_to(created, tick=False)
    return AppointmentFactory(**fields)


def _invoice(
    time_machine, appointment: Appointment, issued, prices: list[tuple[Service, str]], number: int
) -> Invoice:
    time_machine.move_to(issued, tick=False)
    session = Session.objects.create(
        appointment=appointment,
        doctor=appointment.doctor,
        patient=appointment.patient,
        status=SessionStatus.COMPLETED,
        started_at=appointment.starts_at,
        completed_at=appointment.ends_at,
    )
    invoice = Invoice.objects.create(
        number=number,
        session=session,
        patient=appointment.patient,
        currency="USD",
        issued_at=issued,
    )
    for service, price in prices:
        InvoiceLine.objects.create(
            invoice=invoice,
            service=service,
            description=service.name,
            quantity=1,
            unit_price=Decimal(price),
        )
    return refresh_totals(invoice)


def _cancel(appointment: Appointment, when) -> None:
    AppointmentChange.objects.create(
        appointment=appointment,
        action=AppointmentChange.Action.CANCELLED,
        changed_at=when,
        from_status=Status.BOOKED,
        to_status=Status.CANCELLED,
        to_starts_at=appointment.starts_at,
        to_ends_at=appointment.ends_at,
    )


def build(
    time_machine,
    *,
    smith: Doctor,
    jones: Doctor,
    jane: Patient,
    bob: Patient,
    consultation: Service,
    manager: User,
) -> Scene:
    xray = ServiceFactory(code="xray", name="X-ray", duration_minutes=20, price=Decimal("50.00"))
    # Jones also keeps a night clinic on Sundays 01:00-03:00: 3 hours on 1 Nov.
    WorkingHours.objects.create(doctor=jones, weekday=Weekday.SUNDAY, starts=time(1), ends=time(3))
    # Smith is away on the afternoon of 2 Nov, 13:00-15:00.
    TimeOff.objects.create(doctor=smith, starts_at=nov(2, 13), ends_at=nov(2, 15))
    a: dict[str, Appointment] = {}
    a["A1"] = _appointment(
        time_machine,
        created=at(date(2026, 10, 20), 12),
        doctor=smith,
        patient=jane,
        service=consultation,
        starts_at=nov(2, 9),
        status=Status.COMPLETED,
    )
    a["A2"] = _appointment(
        time_machine,
        created=nov(1, 12),
        doctor=smith,
        patient=bob,
        service=consultation,
        starts_at=nov(2, 10),
        status=Status.NO_SHOW,
    )
    a["A3"] = _appointment(
        time_machine,
        created=nov(3, 12),
        doctor=smith,
        patient=jane,
        service=xray,
        starts_at=nov(9, 9),
        status=Status.CANCELLED,
    )
    _cancel(a["A3"], nov(8, 20))
    a["A4"] = _appointment(
        time_machine,
        created=at(date(2026, 10, 1), 12),
        doctor=jones,
        patient=bob,
        service=consultation,
        starts_at=nov(9, 9),
        status=Status.CANCELLED,
    )
    _cancel(a["A4"], nov(1, 12))
    a["A5"] = _appointment(
        time_machine,
        created=nov(10, 12),
        doctor=jones,
        patient=jane,
        service=consultation,
        starts_at=nov(16, 9),
        status=Status.COMPLETED,
    )
    a["A7"] = _appointment(
        time_machine,
        created=at(date(2026, 10, 25), 12),
        doctor=smith,
        patient=bob,
        service=consultation,
        starts_at=nov(1, 23, 30),
        status=Status.COMPLETED,
    )
    a["A8"] = _appointment(
        time_machine,
        created=at(date(2026, 9, 1), 12),
        doctor=jones,
        patient=bob,
        service=consultation,
        starts_at=at(date(2026, 10, 5), 9),
        status=Status.COMPLETED,
    )
    a["A9"] = _appointment(
        time_machine,
        created=at(date(2026, 8, 1), 12),
        doctor=smith,
        patient=jane,
        service=consultation,
        starts_at=at(date(2026, 8, 17), 9),
        status=Status.COMPLETED,
    )

    i: dict[str, Invoice] = {}
    i["I1"] = _invoice(time_machine, a["A1"], nov(2, 10), [(consultation, "80.00")], 1)
    time_machine.move_to(nov(2, 10, 5), tick=False)
    give_discount(invoice=i["I1"], reason="Senior", by=manager, percent=Decimal("10"))
    time_machine.move_to(nov(2, 10, 10), tick=False)
    cash = record_desk_payment(
        invoice=i["I1"], method="cash", amount=Decimal("72.00"), idempotency_key="p1", by=manager
    )
    time_machine.move_to(nov(3, 11), tick=False)
    refund_payment(payment=cash, amount=Decimal("20.00"), reason="Goodwill", by=manager)

    i["I2"] = _invoice(
        time_machine, a["A7"], nov(1, 23, 50), [(consultation, "80.00"), (xray, "50.00")], 2
    )
    record_desk_payment(
        invoice=i["I2"],
        method="card_terminal",
        amount=Decimal("130.00"),
        idempotency_key="p2",
        by=manager,
    )

    i["I3"] = _invoice(time_machine, a["A5"], nov(16, 10), [(consultation, "80.00")], 3)
    void_invoice(invoice=i["I3"], reason="Charity visit", by=manager)

    i["I4"] = _invoice(
        time_machine, a["A8"], at(date(2026, 10, 5), 10), [(consultation, "80.00")], 4
    )
    time_machine.move_to(nov(20, 10), tick=False)
    write_off(invoice=i["I4"], reason="Hardship", by=manager, amount=Decimal("10.00"))

    i["I5"] = _invoice(
        time_machine, a["A9"], at(date(2026, 8, 17), 10), [(consultation, "80.00")], 5
    )

    # Messages: a reminder for A1 went out on 1 Nov; on 2 Nov one text was
    # delivered and one failed; Bob opted out on 2 Nov; a reply confirmed on the
    # night of 1 Nov (04:45 UTC on the 2nd).
    Notification.objects.create(
        patient=jane,
        appointment=a["A1"],
        channel=Channel.SMS,
        template=REMINDER,
        body="r",
        idempotency_key="r1",
        send_after=nov(1, 9),
        status=MessageStatus.SENT,
    )
    Notification.objects.create(
        patient=jane,
        channel=Channel.SMS,
        template="appointment_booked",
        body="b",
        idempotency_key="b1",
        send_after=nov(2, 8),
        status=MessageStatus.DELIVERED,
    )
    Notification.objects.create(
        patient=bob,
        channel=Channel.SMS,
        template="appointment_booked",
        body="b",
        idempotency_key="b2",
        send_after=nov(2, 9),
        status=MessageStatus.FAILED,
    )
    Notification.objects.create(
        user=manager,
        channel=Channel.IN_APP,
        template="session_started",
        body="s",
        idempotency_key="s1",
        send_after=nov(2, 9),
        status=MessageStatus.SENT,
    )
    Patient.objects.filter(pk=bob.pk).update(sms_opted_out_at=nov(2, 12))
    InboundMessage.objects.create(
        message_sid="SM1",
        from_number="+12025550161",
        body="YES",
        received_at=nov(1, 23, 45),
        outcome=f"Confirmed appointment {a['A5'].pk}.",
    )

    time_machine.move_to(nov(30, 18), tick=False)
    for invoice in i.values():
        invoice.refresh_from_db()
    return Scene(smith, jones, jane, bob, consultation, xray, a, i)


def extra_invoice(
    time_machine, scene: Scene, prices: list[tuple[Service, str]], *, paid: str, by: User
) -> Invoice:
    """An invoice outside the story, for one test: Jones saw Jane on Wed 25 Nov at
    09:00, the lines were invoiced at 10:00 and `paid` taken in cash at 10:05."""
    appointment = _appointment(
        time_machine,
        created=nov(20, 12),
        doctor=scene.jones,
        patient=scene.jane,
        service=prices[0][0],
        starts_at=nov(25, 9),
        status=Status.COMPLETED,
    )
    invoice = _invoice(time_machine, appointment, nov(25, 10), prices, 6)
    time_machine.move_to(nov(25, 10, 5), tick=False)
    record_desk_payment(
        invoice=invoice, method="cash", amount=Decimal(paid), idempotency_key="extra", by=by
    )
    return invoice
