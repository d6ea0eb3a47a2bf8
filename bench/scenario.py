"""What the benchmark looks at in a database (the busiest recent day, its busiest
doctor, next week, a reception login) and the read-side measurements: the two day
pages and the free-slot search. Imported by bench/measure.py once Django is set up."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import cycle

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import OrmQ

from clinic.kernel.roles import RECEPTION
from clinic.sessions import SessionStore
from clinic.tokens import issue_token
from doctors.models import Doctor
from notifications.models import Notification, Status
from patients.models import Patient
from scheduling.availability import clinic_zone, day_bounds
from scheduling.models import Appointment, Service
from scheduling.models import Status as AppointmentStatus
from scheduling.selectors import free_slots, next_free_slots

# The day view and the doctor's day look this far back for the busiest day.
RECENT_DAYS = 60


@dataclass
class Plan:
    day: date
    day_appointments: int
    # The busiest day of the week to come: its cards carry their quick actions.
    coming_day: date
    coming_day_appointments: int
    doctor: Doctor | None
    doctor_appointments: int
    week: date
    service: Service
    reception: User
    # What the plan made and deletes at the end.
    made_reception: bool = False
    tokens: list = field(default_factory=list)
    sessions: list[SessionStore] = field(default_factory=list)

    def describe(self) -> dict:
        return {
            "day": self.day.isoformat(),
            "day_appointments": self.day_appointments,
            "coming_day": self.coming_day.isoformat(),
            "coming_day_appointments": self.coming_day_appointments,
            "doctor": self.doctor.display_name if self.doctor else None,
            "doctor_appointments": self.doctor_appointments,
            "week": self.week.isoformat(),
            "service": f"{self.service.name} ({self.service.duration_minutes} min)",
        }

    def client_for(self, user: User) -> Client:
        """A signed-in client, made without logging in: a login's signals would write
        the user's last_login and an axes access log."""
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "clinic.sessions.SessionUserBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        self.sessions.append(session)
        client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
        return client

    def api_token(self) -> str:
        row, token = issue_token(user=self.reception, name="benchmark")
        self.tokens.append(row)
        return token

    def reminders(self, count: int, prefix: str) -> list[Notification]:
        """Reminders due now for confirmed appointments to come, as the rules write
        them (patients with a mobile number who take SMS)."""
        now = timezone.now()
        reachable = Q(patient__sms_opted_out_at__isnull=True) & ~Q(patient__phone="")
        to_come = Q(status=AppointmentStatus.CONFIRMED, starts_at__gt=now + timedelta(hours=1))
        appointments = list(
            Appointment.objects.filter(reachable, to_come)
            .select_related("patient")
            .order_by("starts_at")[:1000]
        )
        if not appointments:
            raise SystemExit("No confirmed appointment to come to remind anyone of.")
        rows = []
        for number, appointment in zip(range(count), cycle(appointments), strict=False):
            local = timezone.localtime(appointment.starts_at)
            rows.append(
                Notification(
                    patient=appointment.patient,
                    appointment=appointment,
                    channel="sms",
                    template="appointment_reminder",
                    body=f"Reminder: your appointment on {local:%a %d %b at %H:%M}.",
                    idempotency_key=f"{prefix}{number}",
                    send_after=now,
                    next_attempt_at=now,
                )
            )
        return rows

    def clean_up(self) -> None:
        for session in self.sessions:
            session.delete()
        for token in self.tokens:
            token.delete()
        if self.made_reception:
            self.reception.delete()


@contextmanager
def own_messages_held_back(hours: int = 6) -> Iterator[int]:
    """The database's own messages that are due, or come due in the next hours (a
    generated clinic's reminders fall due as the clock moves on), wait while the
    dispatcher sends the benchmark's, then are put back as they were."""
    if Notification.objects.filter(status=Status.SENDING).exists():
        raise SystemExit("Messages are being sent (a worker runs on this database?).")
    horizon = timezone.now() + timedelta(hours=hours)
    held = list(
        Notification.objects.filter(status=Status.PENDING, next_attempt_at__lte=horizon).only(
            "pk", "next_attempt_at"
        )
    )
    later = timezone.now() + timedelta(days=100 * 365)
    Notification.objects.filter(pk__in=[message.pk for message in held]).update(
        next_attempt_at=later
    )
    try:
        yield len(held)
    finally:
        Notification.objects.bulk_update(held, ["next_attempt_at"], batch_size=1000)


class QueueMarker:
    """Tasks the benchmark's writes queue for the worker (a booking wakes the
    dispatcher, a webhook queues its event) are deleted: there is no worker here."""

    def __init__(self) -> None:
        self.last = OrmQ.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def delete_new_tasks(self) -> None:
        OrmQ.objects.filter(pk__gt=self.last).delete()


def choose() -> Plan:
    today = timezone.localdate()
    day, day_count = busiest_day(today - timedelta(days=RECENT_DAYS), today)
    coming_day, coming_count = busiest_day(today, today + timedelta(days=7))
    bounds = day_bounds(day)
    on_day = Q(
        appointments__starts_at__gte=bounds.starts_at, appointments__starts_at__lt=bounds.ends_at
    )
    doctor = (
        Doctor.objects.filter(user__isnull=False, user__is_active=True)
        .annotate(count=Count("appointments", filter=on_day))
        .order_by("-count", "pk")
        .first()
    )
    # The catalogue's first service: the same one in every database generated alike,
    # so their searches compare.
    service = Service.objects.active().order_by("pk").first()
    if service is None:
        raise SystemExit("The database has no active service: generate the data first.")
    reception, made = reception_user()
    return Plan(
        day=day,
        day_appointments=day_count,
        coming_day=coming_day,
        coming_day_appointments=coming_count,
        doctor=doctor,
        doctor_appointments=getattr(doctor, "count", 0),
        week=today + timedelta(days=7 - today.weekday()),
        service=service,
        reception=reception,
        made_reception=made,
    )


def busiest_day(first: date, last: date) -> tuple[date, int]:
    """The day in [first, last) with the most appointments (today if none has any)."""
    busiest = (
        Appointment.objects.filter(
            starts_at__gte=day_bounds(first).starts_at, starts_at__lt=day_bounds(last).starts_at
        )
        .annotate(day=TruncDate("starts_at", tzinfo=clinic_zone()))
        .values("day")
        .annotate(count=Count("pk"))
        .order_by("-count", "-day")
        .first()
    )
    return (busiest["day"], busiest["count"]) if busiest else (last, 0)


def reception_user() -> tuple[User, bool]:
    user = User.objects.filter(groups__name=RECEPTION, is_active=True).order_by("pk").first()
    if user is not None:
        return user, False
    user = User.objects.create_user(f"bench-reception-{time.time_ns()}")
    user.groups.add(Group.objects.get(name=RECEPTION))
    return user, True


def data_size() -> dict:
    return {
        "doctors": Doctor.objects.count(),
        "patients": Patient.objects.count(),
        "appointments": Appointment.objects.count(),
    }


# --- Pages and the free-slot search ------------------------------------------------


def measure_pages(plan: Plan, iterations: int) -> dict:
    """Server time of each page (the request through Django's whole stack in this
    process) and its queries."""
    figures = {}
    reception = plan.client_for(plan.reception)
    figures["day_view_ms"], figures["day_view_queries"], figures["day_view_slowest"] = timed_page(
        reception, f"/schedule/?date={plan.day.isoformat()}", iterations
    )
    coming = timed_page(reception, f"/schedule/?date={plan.coming_day.isoformat()}", iterations)
    figures["coming_day_view_ms"], figures["coming_day_view_queries"], _ = coming
    if plan.doctor is not None:
        doctor = plan.client_for(plan.doctor.user)
        figures["my_day_ms"], figures["my_day_queries"], figures["my_day_slowest"] = timed_page(
            doctor, f"/schedule/my-day/?date={plan.day.isoformat()}", iterations
        )
    return figures


def timed_page(client: Client, url: str, iterations: int) -> tuple[list[float], int, list]:
    def get():
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}.")

    times = timed(get, iterations)
    queries, slowest = counted(get)
    return times, queries, slowest


def measure_free_slots(plan: Plan, iterations: int) -> dict:
    week = {"date_from": plan.week, "date_to": plan.week + timedelta(days=6)}
    doctor = plan.doctor or Doctor.objects.active().first()

    def one_doctor():
        return free_slots(service=plan.service, doctor=doctor, **week)

    def all_doctors():
        return free_slots(service=plan.service, **week)

    def next_available():
        return next_free_slots(service=plan.service, from_date=plan.week, limit=10)

    return {
        "slots_one_ms": timed(one_doctor, iterations),
        "slots_one_queries": counted(one_doctor)[0],
        "slots_one_found": len(one_doctor()),
        "slots_all_ms": timed(all_doctors, iterations),
        "slots_all_queries": counted(all_doctors)[0],
        "slots_all_found": len(all_doctors()),
        "next_all_ms": timed(next_available, iterations),
        "next_all_queries": counted(next_available)[0],
    }


def timed(function, iterations: int) -> list[float]:
    """Milliseconds of each of `iterations` calls, after one call to warm up."""
    function()
    times = []
    for _ in range(iterations):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times


def counted(function) -> tuple[int, list[dict]]:
    """The queries of one call (in a run of its own: recording them costs time), and
    the three slowest, for a profile."""
    with CaptureQueriesContext(connection) as captured:
        function()
    slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:3]
    return len(captured), [{"ms": float(q["time"]) * 1000, "sql": q["sql"][:300]} for q in slowest]
