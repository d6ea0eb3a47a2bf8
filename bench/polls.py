"""The polls of open staff screens (issue 21, point 3): the server time of an
unchanged poll (304) of each polled fragment, and 200 doctors' screens polling at
their real intervals for a while, with the CPU share they take. Imported by
bench/measure.py once Django is set up.

A doctor's screen (My day) polls its list every 20 s and the live alerts (with the
nav's bell) every 10 s (templates/scheduling/partials/my_day_list.html,
templates/scheduling/my_day.html); no other page polls.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory

from doctors.models import Doctor

from .scenario import Plan, counted, timed

POLL = {"HTTP_HX_REQUEST": "true", "HTTP_X_CLINIC_POLL": "true"}
# (fragment, seconds between polls) of one doctor's screen.
INTERVALS = (("my_day", 20.0), ("live", 10.0))
SCREENS = 200


def fragment_url(fragment: str, plan: Plan) -> str:
    if fragment == "my_day":
        return f"/schedule/my-day/?date={plan.day.isoformat()}"
    return "/notifications/live/"


def screen(plan: Plan, doctor: Doctor) -> Client:
    """A doctor's signed-in client with a CSRF cookie, as the page around the
    fragments leaves it (a poll without one gets no ETag)."""
    client = plan.client_for(doctor.user)
    request = RequestFactory().get("/")
    get_token(request)
    client.cookies[settings.CSRF_COOKIE_NAME] = request.META["CSRF_COOKIE"]
    return client


class Poller:
    """One fragment of one screen: keeps the ETag of its last 200, as a browser's
    cache does, and sends it back."""

    def __init__(self, client: Client, url: str) -> None:
        self.client, self.url, self.etag = client, url, ""
        self.statuses: list[int] = []

    def __call__(self) -> int:
        headers = {"HTTP_IF_NONE_MATCH": self.etag} if self.etag else {}
        response = self.client.get(self.url, **POLL, **headers)
        if response.status_code not in (200, 304):
            raise SystemExit(f"GET {self.url} answered {response.status_code}.")
        if response.status_code == 200:
            self.etag = response.get("ETag", "")
        self.statuses.append(response.status_code)
        return response.status_code


def measure_polls(plan: Plan, iterations: int, seconds: float) -> dict:
    doctor = plan.doctor or Doctor.objects.active().exclude(user=None).first()
    if doctor is None:
        return {}
    figures: dict = {}
    for fragment, _ in INTERVALS:
        poller = Poller(screen(plan, doctor), fragment_url(fragment, plan))
        poller()  # The first poll: 200, with the ETag.

        def unchanged(poller=poller) -> None:
            if poller() != 304:
                raise SystemExit(f"An unchanged poll of {poller.url} was not answered 304.")

        figures[f"poll_{fragment}_304_ms"] = timed(unchanged, max(iterations, 20))
        # The CPU time of this process for the same (the wall time above also waits
        # for PostgreSQL, and for the other processes on a busy machine).
        figures[f"poll_{fragment}_304_cpu_ms"] = cpu_timed(unchanged, max(iterations, 20))
        figures[f"poll_{fragment}_304_queries"] = counted(unchanged)[0]
    figures.update(simulate_screens(plan, seconds))
    return figures


def cpu_timed(function, iterations: int) -> list[float]:
    """This process's CPU milliseconds of each of `iterations` calls."""
    times = []
    for _ in range(iterations):
        started = time.process_time()
        function()
        times.append((time.process_time() - started) * 1000)
    return times


def simulate_screens(plan: Plan, seconds: float, screens: int = SCREENS) -> dict:
    """`screens` doctors' screens (the clinic's doctors, in turn, each screen a
    session of its own) polling at their intervals, each from a random moment, for
    `seconds` of wall time, one request at a time in this process. The CPU share is
    this process's CPU time plus its PostgreSQL backend's, over the wall time: the
    share of one core the polls take."""
    doctors = list(Doctor.objects.active().exclude(user=None).order_by("pk"))
    if not doctors:
        return {}
    rng = random.Random(1)
    pollers = []
    for number in range(screens):
        client = screen(plan, doctors[number % len(doctors)])
        for fragment, interval in INTERVALS:
            poller = Poller(client, fragment_url(fragment, plan))
            poller()  # The screen opened before the measurement: its first 200s.
            pollers.append((rng.uniform(0, interval), interval, poller))
    backend = backend_cpu_seconds()
    started, cpu = time.perf_counter(), time.process_time()
    due = sorted((offset, index) for index, (offset, _, _) in enumerate(pollers))
    sent = late = 0
    while due:
        at, index = due.pop(0)
        if at >= seconds:
            break
        wait = started + at - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        elif wait < -1:
            late += 1
        _, interval, poller = pollers[index]
        poller()
        sent += 1
        due.append((at + interval, index))
        due.sort()
    wall = time.perf_counter() - started
    own = time.process_time() - cpu
    database = backend_cpu_seconds()
    statuses = [status for _, _, poller in pollers for status in poller.statuses[1:]]
    # Lists of one figure, as the table takes them; shares in per cent of one core.
    figures = {
        "screens": screens,
        "screens_seconds": round(wall, 1),
        "screens_polls_per_s": [sent / wall],
        "screens_not_modified": [100 * statuses.count(304) / max(len(statuses), 1)],
        "screens_late": late,
        # The machine's load meanwhile: the figures are only as good as its quiet.
        "screens_load": round(os.getloadavg()[0], 1),
        "screens_web_cpu_share": [100 * own / wall],
    }
    if backend is not None and database is not None:
        figures["screens_db_cpu_share"] = [100 * (database - backend) / wall]
        figures["screens_cpu_share"] = [100 * (own + database - backend) / wall]
    return figures


def backend_cpu_seconds() -> float | None:
    """CPU seconds of this connection's PostgreSQL backend, from /proc (on this
    machine only; None elsewhere or on SQLite)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime, the 14th and 15th fields (counted from the pid).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
