"""Booking throughput: concurrent clients POSTing to the JSON API of the app served by
gunicorn on loopback, next to the same number of clients doing the same work
straight through psycopg (the physical limit of a booking: its transaction's
statements and nothing else), and the raw INSERT of the rows alone. Then the memory
of gunicorn's workers over many requests (a leak shows as growth). Imported by
bench/measure.py once Django is set up."""

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
from django.db import connection as django_connection
from django.utils import timezone

from doctors.models import Doctor
from patients.models import Patient
from scheduling.models import Appointment
from scheduling.overlaps import booking_day_query, calendar_locks_sql
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


# The rest of a booking's transaction as the app writes it (scheduling.services,
# notifications.rules, online.services.manage_link): its history entry, the
# patient's personal link and the SMS in the outbox (an insert that a row with the
# same key leaves alone).
SAME_WORK_CHANGE = """
    INSERT INTO scheduling_appointmentchange (
        appointment_id, action, changed_by_id, changed_at, from_status, to_status,
        from_starts_at, from_ends_at, to_starts_at, to_ends_at, from_doctor_id,
        to_doctor_id, note, via
    ) VALUES (%s, 'booked', %s, now(), '', 'booked', NULL, NULL, %s, %s, NULL, NULL, '', '')
    RETURNING id
"""
SAME_WORK_APPOINTMENT = """
    INSERT INTO scheduling_appointment (
        doctor_id, patient_id, service_id, starts_at, ends_at, status, reason,
        cancellation_reason, arrived_at, walk_in, held_until, created_by_id, created_at,
        updated_at
    ) VALUES (%s, %s, %s, %s, %s, 'booked', '', '', NULL, false, NULL, %s, now(), now())
    RETURNING id, walk_in
"""
SAME_WORK_LINK = """
    INSERT INTO online_managelink (appointment_id, token_hash, created_at)
    VALUES (%s, %s, now()) RETURNING id
"""
SAME_WORK_SMS = """
    INSERT INTO notifications_notification (
        patient_id, user_id, channel, template, subject, body, link, appointment_id,
        session_id, idempotency_key, status, send_after, next_attempt_at, attempts,
        claimed_at, address, urgent, provider_message_id, last_error, sent_at,
        delivered_at, read_at, created_at, updated_at
    ) VALUES (
        %s, NULL, 'sms', 'appointment_booked', '', %s, '', %s, NULL, %s, 'pending', now(),
        now(), 0, NULL, '+12025550100', false, '', '', NULL, NULL, NULL, now(), now()
    ) ON CONFLICT DO NOTHING
"""
# As long as the booked text with its link.
SMS_BODY = (
    "Riverside Clinic: Hi Jane, your appointment with Dr Smith is booked for Mon 30 Nov "
    "at 10:00 AM. Reply C to confirm or X to cancel. Change or cancel: "
    "https://clinic.example.test/book/m/0123456789abcdefghijkl"
)


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
    *,
    plan,
    database_url: str,
    server_env: dict,
    clients: int,
    per_client: int,
    iterations: int,
    memory_requests: tuple[int, int],
) -> dict:
    bookings = plan_bookings(plan, clients * per_client)
    # Booking i goes to client i % clients: at any moment the clients book different
    # doctors and patients, so none waits for another's lock.
    shares = [bookings[number::clients] for number in range(clients)]
    token = plan.api_token()
    figures: dict = {"clients": clients, "bookings_per_run": len(bookings)}
    http_rates, p50s, p95s, raw_rates, ratios = [], [], [], [], []
    same_rates, same_ratios = [], []
    same_work = [[same_work_of(booking) for booking in share] for share in shares]
    with gunicorn(database_url, server_env) as (port, _server):
        figures["gunicorn_workers"] = gunicorn_workers()
        warm_up(port, token, clients)
        for run in range(iterations + 1):
            rate, latencies, ids = book_over_http(port, token, shares)
            Appointment.objects.filter(pk__in=ids).delete()
            same_rate = book_straight(database_url, same_work, created_by=plan.reception.pk)
            raw_rate = insert_raw(database_url, shares, created_by=plan.reception.pk)
            if run == 0:
                continue  # Warming up: each worker's first booking loads more code.
            http_rates.append(rate)
            p50s.append(statistics.median(latencies))
            p95s.append(statistics.quantiles(latencies, n=20)[-1])
            same_rates.append(same_rate)
            same_ratios.append(rate / same_rate)
            raw_rates.append(raw_rate)
            ratios.append(rate / raw_rate)
    # One worker that is never recycled (the deployed ones restart after about 1,000
    # requests, max_requests, which would hide a leak): it serves every request.
    with gunicorn(database_url, server_env, "--workers=1", "--max-requests=0") as (port, server):
        figures.update(worker_memory(port, server, token, plan, clients, memory_requests))
    figures.update(
        booking_per_s=http_rates,
        booking_p50_ms=p50s,
        booking_p95_ms=p95s,
        same_work_per_s=same_rates,
        booking_vs_same_work=same_ratios,
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
def gunicorn(
    database_url: str, server_env: dict, *options: str
) -> Iterator[tuple[int, subprocess.Popen]]:
    """The app as deployed (deploy/gunicorn.conf.py, which `options` override) on a
    free loopback port."""
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
    command = [str(GUNICORN), "-c", "deploy/gunicorn.conf.py", *options, APP]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            wait_until_listening(server, port, log)
            yield port, server
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


# --- The same work straight through psycopg ----------------------------------------


@dataclass(frozen=True)
class SameWork:
    """One booking's statements, made before the clock starts: the calendar locks
    (scheduling.overlaps.lock_calendars) and the check of the day
    (overlaps.booking_day_query) exactly as the app sends them, then its inserts."""

    booking: Booking
    check_sql: str
    check_params: tuple


def same_work_of(booking: Booking) -> SameWork:
    from scheduling.models import Service

    service = Service.objects.get(pk=booking.service_id)
    query = booking_day_query(
        service=service,
        doctor=Doctor(pk=booking.doctor_id),
        patient=Patient(pk=booking.patient_id),
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
    )
    sql, params = query.query.sql_with_params()
    return SameWork(booking, sql, tuple(params))


def book_straight(database_url: str, shares: list[list[SameWork]], *, created_by: int) -> float:
    """Each booking's transaction (BEGIN; the locks in one statement; the check; the
    appointment, whose exclusion constraints PostgreSQL checks; its history entry;
    the personal link; the SMS; COMMIT) from as many clients as over HTTP, each on an
    open connection: bookings a second. The rows are deleted afterwards."""
    locks = calendar_locks_sql(django_connection.ops.quote_name)
    connections = [psycopg.connect(database_url, prepare_threshold=None) for _ in shares]
    ids: list[int] = []
    run = time.time_ns()

    def client(connection, share: list[SameWork]) -> None:
        for number, work in enumerate(share):
            b = work.booking
            with connection.transaction():
                connection.execute(locks, (b.doctor_id, b.patient_id)).fetchall()
                connection.execute(work.check_sql, work.check_params).fetchall()
                (appointment, _walk_in) = connection.execute(
                    SAME_WORK_APPOINTMENT,
                    (b.doctor_id, b.patient_id, b.service_id, b.starts_at, b.ends_at, created_by),
                ).fetchone()
                connection.execute(
                    SAME_WORK_CHANGE, (appointment, created_by, b.starts_at, b.ends_at)
                ).fetchone()
                connection.execute(SAME_WORK_LINK, (appointment, os.urandom(32).hex())).fetchone()
                key = f"bench:{run}:{b.doctor_id}:{b.patient_id}:{number}"
                connection.execute(SAME_WORK_SMS, (b.patient_id, SMS_BODY, appointment, key))
            ids.append(appointment)

    try:
        elapsed = in_parallel(
            [
                lambda connection=connection, share=share: client(connection, share)
                for connection, share in zip(connections, shares, strict=True)
            ]
        )
    finally:
        for connection in connections:
            connection.close()
        # The ORM deletes the history, links and outbox rows with them.
        Appointment.objects.filter(pk__in=ids).delete()
    return sum(len(share) for share in shares) / elapsed


# --- A worker's memory -------------------------------------------------------------


def worker_memory(
    port: int, server: subprocess.Popen, token: str, plan, clients: int, requests: tuple[int, int]
) -> dict:
    """The resident memory (VmRSS) of the server's one worker after `requests[0]`
    and after `requests[1]` requests of the API's reads (the day's appointments,
    services, doctors, a patient search) from `clients` clients, and its growth
    from the first to the second."""
    day = plan.day.isoformat()
    paths = [
        f"/api/v1/appointments?date={day}",
        "/api/v1/services",
        "/api/v1/doctors",
        "/api/v1/patients?q=smith",
    ]
    sent = 0
    sizes = []
    for mark in requests:
        count = mark - sent
        per_client = [count // clients + (1 if n < count % clients else 0) for n in range(clients)]

        def client(many: int, offset: int) -> None:
            for number in range(many):
                path = paths[(offset + number) % len(paths)]
                status, body = request(port, "GET", path, token=token)
                if status != 200:
                    raise SystemExit(f"GET {path} answered {status}: {body[:300]!r}")

        in_parallel([lambda n=n, many=many: client(many, n) for n, many in enumerate(per_client)])
        sent = mark
        (worker,) = worker_pids(server.pid)
        sizes.append((worker, resident_kib(worker)))
    (first_pid, first), (last_pid, last) = sizes
    if first_pid != last_pid:
        raise SystemExit("The worker was restarted while its memory was measured.")
    return {
        "memory_requests": list(requests),
        "worker_rss_first_mib": [first / 1024],
        "worker_rss_last_mib": [last / 1024],
        "worker_rss_growth": [100 * (last - first) / first],
    }


def worker_pids(master: int) -> list[int]:
    """The pids of the processes whose parent is `master` (gunicorn's workers)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            pids.append(int(stat.parent.name))
    return sorted(pids)


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit(f"No VmRSS for process {pid}.")


# --- Straight into PostgreSQL ------------------------------------------------------


def insert_raw(database_url: str, shares: list[list[Booking]], *, created_by: int) -> float:
    """The same rows inserted by as many clients, each on an open connection, one
    committed INSERT a row: rows a second. The rows are deleted afterwards."""
    connections = [
        psycopg.connect(database_url, autocommit=True, prepare_threshold=None) for _ in shares
    ]
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
