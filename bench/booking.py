"""Booking throughput: concurrent clients POSTing to the JSON API of the app served by
gunicorn on loopback, next to the same number of clients inserting the same rows
straight into PostgreSQL (the physical limit). Imported by bench/measure.py once
Django is set up."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
from django.utils import timezone

from patients.models import Patient
from scheduling.models import Appointment
from scheduling.selectors import free_slots

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
APP = "clinic.wsgi"

RAW_INSERT = """
    INSERT INTO scheduling_appointment (
        doctor_id, patient_id, service_id, starts_at, ends_at, status, reason,
        cancellation_reason, arrived_at, created_by_id, created_at, updated_at
    ) VALUES (%s, %s, %s, %s, %s, 'booked', '', '', NULL, %s, now(), now())
    RETURNING id
"""


@dataclass(frozen=True)
class Booking:
    doctor_id: int
    patient_id: int
    service_id: int
    starts_at: datetime
    ends_at: datetime

    def as_json(self) -> bytes:
        return json.dumps(
            {
                "patient": self.patient_id,
                "doctor": self.doctor_id,
                "service": self.service_id,
                "starts_at": timezone.localtime(self.starts_at).isoformat(),
            }
        ).encode()


def measure(
    *, plan, database_url: str, server_env: dict, clients: int, per_client: int, iterations: int
) -> dict:
    bookings = plan_bookings(plan, clients * per_client)
    # Booking i goes to client i % clients: at any moment the clients book different
    # doctors and patients, so none waits for another's lock.
    shares = [bookings[number::clients] for number in range(clients)]
    token = plan.api_token()
    figures: dict = {"clients": clients, "bookings_per_run": len(bookings)}
    http_rates, p50s, p95s, raw_rates, ratios = [], [], [], [], []
    with gunicorn(database_url, server_env) as port:
        figures["gunicorn_workers"] = gunicorn_workers()
        warm_up(port, token, clients)
        for run in range(iterations + 1):
            rate, latencies, ids = book_over_http(port, token, shares)
            Appointment.objects.filter(pk__in=ids).delete()
            raw_rate = insert_raw(database_url, shares, created_by=plan.reception.pk)
            if run == 0:
                continue  # Warming up: each worker's first booking loads more code.
            http_rates.append(rate)
            p50s.append(statistics.median(latencies))
            p95s.append(statistics.quantiles(latencies, n=20)[-1])
            raw_rates.append(raw_rate)
            ratios.append(rate / raw_rate)
    figures.update(
        booking_per_s=http_rates,
        booking_p50_ms=p50s,
        booking_p95_ms=p95s,
        raw_insert_per_s=raw_rates,
        booking_vs_raw=ratios,
    )
    return figures


def plan_bookings(plan, count: int) -> list[Booking]:
    """`count` free slots to come that overlap nothing, not even each other, each
    for a patient with nothing booked around then."""
    service = plan.service
    chosen, ends = [], {}
    day = timezone.localdate() + timedelta(days=2)
    last_day = day + timedelta(days=365)
    while len(chosen) < count and day < last_day:
        for slot in free_slots(service=service, date_from=day, date_to=day + timedelta(days=13)):
            if slot.doctor.pk not in ends or ends[slot.doctor.pk] <= slot.starts_at:
                chosen.append(slot)
                ends[slot.doctor.pk] = slot.ends_at
        day += timedelta(days=14)
    chosen = chosen[:count]
    if len(chosen) < count:
        raise SystemExit(f"Found {len(chosen)} free slots of the {count} the booking run needs.")
    busy = Appointment.objects.overlapping(chosen[0].starts_at, chosen[-1].ends_at)
    patients = list(
        Patient.objects.exclude(pk__in=busy.values("patient_id"))
        .order_by("pk")
        .values_list("pk", flat=True)[:count]
    )
    if len(patients) < count:
        raise SystemExit(f"Found {len(patients)} free patients of the {count} needed.")
    return [
        Booking(slot.doctor.pk, patient, service.pk, slot.starts_at, slot.ends_at)
        for slot, patient in zip(chosen, patients, strict=True)
    ]


# --- Over HTTP ---------------------------------------------------------------------


def gunicorn_workers() -> int:
    """As deploy/gunicorn.conf.py reads it."""
    return int(os.environ.get("WEB_CONCURRENCY") or min(2 * multiprocessing.cpu_count() + 1, 8))


@contextmanager
def gunicorn(database_url: str, server_env: dict) -> Iterator[int]:
    """The app as deployed (deploy/gunicorn.conf.py) on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        **server_env,
        "DATABASE_URL": database_url,
        "BIND": f"127.0.0.1:{port}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "GUNICORN_LOG_LEVEL": "warning",
    }
    command = [str(GUNICORN), "-c", "deploy/gunicorn.conf.py", APP]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            wait_until_listening(server, port, log)
            yield port
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def wait_until_listening(server: subprocess.Popen, port: int, log) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise SystemExit(f"gunicorn exited:\n{log.read().decode(errors='replace')}")
        try:
            request(port, "GET", "/healthz")
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not answer within 30 seconds.")


def request(port: int, method: str, path: str, body: bytes | None = None, token: str = ""):
    """One request on a connection of its own (gunicorn's sync workers close it)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"} if body else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def warm_up(port: int, token: str, clients: int) -> None:
    """Every worker loads the URLs and the API before the clock starts."""
    in_parallel(
        [lambda: [request(port, "GET", "/api/v1/services", token=token) for _ in range(3)]]
        * clients
    )


def book_over_http(port: int, token: str, shares: list[list[Booking]]):
    """Each client books its share one after another; returns bookings a second,
    each booking's latency (ms) and the new appointments' ids."""
    latencies: list[float] = []
    ids: list[int] = []
    failures: list[str] = []

    def client(share: list[Booking]) -> None:
        for booking in share:
            started = time.perf_counter()
            status, body = request(
                port, "POST", "/api/v1/appointments", body=booking.as_json(), token=token
            )
            latencies.append((time.perf_counter() - started) * 1000)
            if status == 201:
                ids.append(json.loads(body)["id"])
            else:
                failures.append(f"{status} {body[:300]!r}")

    try:
        elapsed = in_parallel([lambda share=share: client(share) for share in shares])
        if failures:
            raise SystemExit(f"{len(failures)} bookings failed, the first: {failures[0]}")
    except BaseException:
        Appointment.objects.filter(pk__in=ids).delete()
        raise
    return len(ids) / elapsed, latencies, ids


# --- Straight into PostgreSQL ------------------------------------------------------


def insert_raw(database_url: str, shares: list[list[Booking]], *, created_by: int) -> float:
    """The same rows inserted by as many clients, each on an open connection, one
    committed INSERT a row: rows a second. The rows are deleted afterwards."""
    connections = [psycopg.connect(database_url, autocommit=True) for _ in shares]
    ids: list[int] = []

    def client(connection, share: list[Booking]) -> None:
        for b in share:
            row = connection.execute(
                RAW_INSERT,
                (b.doctor_id, b.patient_id, b.service_id, b.starts_at, b.ends_at, created_by),
            ).fetchone()
            ids.append(row[0])

    try:
        elapsed = in_parallel(
            [
                lambda connection=connection, share=share: client(connection, share)
                for connection, share in zip(connections, shares, strict=True)
            ]
        )
    finally:
        connections[0].execute("DELETE FROM scheduling_appointment WHERE id = ANY(%s)", (ids,))
        for connection in connections:
            connection.close()
    return sum(len(share) for share in shares) / elapsed


def in_parallel(jobs) -> float:
    """Run each job in a thread of its own, all released at once; the seconds from
    the release until the last one ends. A job's exception is raised here."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs) + 1)

    def run(job) -> None:
        start.wait()
        try:
            job()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed
