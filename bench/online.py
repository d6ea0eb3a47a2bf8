"""The public booking site's path (issue 18): the week of free times for a service
with one doctor and with any, the server time of a whole online booking, and a
burst of visitors against gunicorn (100 browsing while 20 book at once).

The service and doctors measured are made bookable online for the run and put back
after; what the bookings made (patients, appointments, their texts and links) is
deleted at the end, so the database is as it was."""

from __future__ import annotations

import http.client
import re
import statistics
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone

from doctors.models import Doctor
from notifications.models import PHONE_CODE_TEMPLATE, Notification
from online.models import OnlineRules, PhoneCode
from online.services import week_of_free_times
from online.views.times import value_of
from patients.models import Patient
from scheduling.models import Appointment, OnlineBooking

from .booking import gunicorn
from .scenario import Plan, counted, timed

BROWSERS = 100
BOOKERS = 20
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# Phones no generated patient has (the generator's numbers start +1202555).
BENCH_PHONE = "+1202556{:04d}"


def measure_online(plan: Plan, iterations: int, *, database_url: str, server_env: dict) -> dict:
    with bookable_online(plan) as (service, doctor):
        figures = measure_in_process(service, doctor, iterations)
        figures.update(measure_burst(service, database_url, server_env))
    return figures


@contextmanager
def bookable_online(plan: Plan):
    """The plan's service and every active doctor bookable online, for the run."""
    service = plan.service
    doctor = plan.doctor or Doctor.objects.active().first()
    before = (service.online_booking, list(Doctor.objects.filter(bookable_online=True)))
    service.online_booking = OnlineBooking.ANYONE
    service.save(update_fields=["online_booking"])
    Doctor.objects.active().update(bookable_online=True)
    started = timezone.now()
    try:
        yield service, doctor
    finally:
        remove_bookings_since(started)
        service.online_booking = before[0]
        service.save(update_fields=["online_booking"])
        Doctor.objects.update(bookable_online=False)
        Doctor.objects.filter(pk__in=[d.pk for d in before[1]]).update(bookable_online=True)


def remove_bookings_since(started) -> None:
    made = Patient.objects.filter(registered_online=True, created_at__gte=started)
    Notification.objects.filter(patient__in=made).delete()
    Notification.objects.filter(template=PHONE_CODE_TEMPLATE, created_at__gte=started).delete()
    Appointment.objects.filter(patient__in=made).delete()
    made.delete()
    PhoneCode.objects.filter(created_at__gte=started).delete()


# --- In this process: server time and queries -------------------------------------------


def measure_in_process(service, doctor, iterations: int) -> dict:
    client = Client()
    page = f"/book/{service.code}/"
    with override_settings(RATELIMIT_ENABLE=False):

        def one_doctor():
            ok(client.get(f"{page}?doctor={doctor.pk}"))

        def any_doctor():
            ok(client.get(page))

        numbers = iter(range(10_000))

        def whole_booking():
            # Rolled back: the times stay free for the next run.
            with transaction.atomic():
                book_in_process(service, phone=BENCH_PHONE.format(next(numbers)))
                transaction.set_rollback(True)

        return {
            "online_week_one_ms": timed(one_doctor, iterations),
            "online_week_one_queries": counted(one_doctor)[0],
            "online_week_any_ms": timed(any_doctor, iterations),
            "online_week_any_queries": counted(any_doctor)[0],
            "online_booking_ms": timed(whole_booking, iterations),
            "online_booking_queries": counted(whole_booking)[0],
        }


def book_in_process(service, *, phone: str) -> None:
    """A new patient's whole booking: choose the first free time, give their details,
    type the code texted to them."""
    client = Client()
    page = f"/book/{service.code}/"
    [slot, *_] = free_times(service)
    ok(client.post(page, {"time": value_of(slot)}), 302)
    ok(client.post(f"{page}details/", details(phone)), 302)
    ok(client.post(f"{page}verify/", {"code": code_sent_to(phone)}), 302)


def free_times(service):
    rules = OnlineRules.current()
    first_day = timezone.localdate() + timedelta(days=1)
    slots = week_of_free_times(service=service, doctor=None, first_day=first_day, rules=rules)
    if not slots:
        raise SystemExit("No free time to book online in the coming week.")
    return slots


def details(phone: str) -> dict:
    return {
        "given_name": "Bench",
        "family_name": "Visitor",
        "date_of_birth": "1990-01-01",
        "phone": phone,
        "email": "",
        "website": "",
    }


def code_sent_to(phone: str) -> str:
    text = Notification.objects.filter(template=PHONE_CODE_TEMPLATE, address=phone).latest("pk")
    return text.body.split()[0]


def ok(response, status: int = 200) -> None:
    if response.status_code != status:
        raise SystemExit(f"{response.request['PATH_INFO']} answered {response.status_code}.")


# --- Against gunicorn: a burst of visitors --------------------------------------------------


class Browser:
    """One visitor's cookies over plain HTTP (the app's cookies are Secure, which a
    client library would keep off a loopback http:// connection)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.latencies: list[float] = []

    def send(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            form = {"csrfmiddlewaretoken": self.cookies.get("csrftoken", ""), **form}
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
        finally:
            connection.close()
        self.latencies.append((time.perf_counter() - started) * 1000)
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, text


def browse(port: int, service_code: str, errors: list) -> list[float]:
    """A visitor looks around: the home page, this week's times and next week's."""
    visitor = Browser(port)
    next_week = (timezone.localdate() + timedelta(days=7)).isoformat()
    for path in ("/book/", f"/book/{service_code}/", f"/book/{service_code}/?from={next_week}"):
        status, _ = visitor.send("GET", path)
        if status != 200:
            errors.append(f"GET {path}: {status}")
    return visitor.latencies


def book_over_http(port: int, service_code: str, slot, phone: str, errors: list) -> float:
    """One new patient's whole booking; returns its seconds from first page to booked."""
    visitor = Browser(port)
    page = f"/book/{service_code}/"
    started = time.perf_counter()
    steps = [
        ("GET", page, None, 200),
        ("POST", page, {"time": value_of(slot)}, 302),
        ("POST", f"{page}details/", details(phone), 302),
    ]
    for method, path, form, expected in steps:
        status, _ = visitor.send(method, path, form)
        if status != expected:
            errors.append(f"{method} {path}: {status}")
            return time.perf_counter() - started
    status, _ = visitor.send("POST", f"{page}verify/", {"code": code_sent_to(phone)})
    if status != 302:
        errors.append(f"POST {page}verify/: {status}")
    return time.perf_counter() - started


def measure_burst(service, database_url: str, server_env: dict) -> dict:
    slots = distinct_times(free_times_for_burst(service), BOOKERS)
    errors: list[str] = []
    env = {**server_env, "RATELIMIT_ENABLE": "false"}
    with gunicorn(database_url, env) as (port, _server):
        browse(port, service.code, errors)  # Every worker loads the pages first.
        results: dict[str, list] = {"browse": [], "book": []}
        lock = threading.Lock()

        def browser() -> None:
            latencies = browse(port, service.code, errors)
            with lock:
                results["browse"].extend(latencies)

        def booker(number: int) -> None:
            seconds = book_over_http(
                port, service.code, slots[number], BENCH_PHONE.format(9000 + number), errors
            )
            with lock:
                results["book"].append(seconds * 1000)

        threads = [threading.Thread(target=browser) for _ in range(BROWSERS)]
        threads += [threading.Thread(target=booker, args=(n,)) for n in range(len(slots))]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    booked = len(results["book"]) - sum(1 for e in errors if "verify" in e)
    # One burst: a list of one, as the table reads a run's figures.
    return {
        "online_burst_bookings_per_s": [booked / elapsed],
        "online_burst_booking_p95_ms": [percentile(results["book"], 95)],
        "online_burst_page_p95_ms": [percentile(results["browse"], 95)],
        "online_burst_errors": len(errors),
        "online_burst_error_sample": errors[:5],
    }


def free_times_for_burst(service):
    """Enough free times for every booker, over the next weeks."""
    rules = OnlineRules.current()
    slots = []
    day = timezone.localdate() + timedelta(days=1)
    while len(slots) < BOOKERS * 3 and day < timezone.localdate() + timedelta(
        days=rules.horizon_days
    ):
        slots += week_of_free_times(service=service, doctor=None, first_day=day, rules=rules)
        day += timedelta(days=7)
    return slots


def distinct_times(slots, count: int) -> list:
    """`count` times that do not overlap one another (a booker each)."""
    chosen: list = []
    for slot in slots:
        if all(
            slot.doctor.pk != other.doctor.pk
            or slot.ends_at <= other.starts_at
            or other.ends_at <= slot.starts_at
            for other in chosen
        ):
            chosen.append(slot)
        if len(chosen) == count:
            break
    return chosen


def percentile(values: list[float], share: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100)[share - 1]
