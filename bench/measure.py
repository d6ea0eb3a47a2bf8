"""One database's measurements, run by bench/run.py in a process of its own (Django's
settings name one database per process). Writes the raw figures of every run as JSON
for run.py to put in the table; progress goes to stderr.

    .venv/bin/python bench/measure.py --database-url URL --json OUT [--iterations 5]
        [--only pages,slots,patients,reports,booking,dispatch,stripe,polls]

Everything it writes (bookings, outbox rows, Stripe events, a token, sessions, queued
tasks) is deleted before it exits, so the next run measures the same data.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import hmac
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The settings of production (DEBUG off, PostgreSQL, JSON logs), whatever a
# developer's .env says; plain HTTP, and static files served as they are (nothing
# collected), as the test suite does.
SETTINGS_ENV = {
    "DJANGO_SETTINGS_MODULE": "clinic.settings",
    "ENV_FILE": os.devnull,
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-insecure-key-never-used-in-production",
    "ALLOWED_HOSTS": "testserver",
    "SECURE_SSL_REDIRECT": "false",
    "STATIC_MANIFEST": "false",
    "LOG_LEVEL": "WARNING",
    "Q_BROKER": "orm",
    # Every booking's SMS is due at once (and wakes the worker), whatever the hour
    # the benchmark runs at, and every reminder goes out.
    "NOTIFICATIONS_QUIET_HOURS": "",
    # The patients' texts carry their personal link, a row a booking writes.
    "PUBLIC_BASE_URL": "http://127.0.0.1",
}
STRIPE_SECRET = "whsec_bench"


@dataclass(frozen=True)
class Sizes:
    clients: int
    bookings_per_client: int
    reminders: int
    stripe_events: int
    # How long the 200 doctors' screens poll (bench/polls.py).
    poll_seconds: float
    # After how many requests gunicorn's workers' memory is read (bench/booking.py).
    memory_requests: tuple[int, int] = (1_000, 10_000)


MEASURES = (
    "pages",
    "slots",
    "patients",
    "reports",
    "booking",
    "online",
    "dispatch",
    "stripe",
    "polls",
)


def measures(value: str) -> tuple[str, ...]:
    chosen = tuple(name.strip() for name in value.split(",") if name.strip())
    unknown = set(chosen) - set(MEASURES)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(MEASURES)}")
    return chosen


def requests_pair(value: str) -> tuple[int, int]:
    first, _, last = value.partition(",")
    try:
        pair = (int(first), int(last))
    except ValueError:
        raise argparse.ArgumentTypeError("two counts, as 1000,10000") from None
    if not 0 < pair[0] < pair[1]:
        raise argparse.ArgumentTypeError("the first count must be positive and below the last")
    return pair


FULL = Sizes(
    clients=8, bookings_per_client=40, reminders=10_000, stripe_events=1_000, poll_seconds=60
)
SMALL = Sizes(
    clients=8,
    bookings_per_client=5,
    reminders=200,
    stripe_events=50,
    poll_seconds=5,
    memory_requests=(200, 1_000),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--json", required=True, type=Path, help="Where the figures go.")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--small", action="store_true", help="CI sizes.")
    parser.add_argument(
        "--memory-requests",
        type=requests_pair,
        help="After how many requests the workers' memory is read, as FIRST,LAST "
        "(1000,10000; 200,1000 with --small).",
    )
    parser.add_argument(
        "--generate", action="store_true", help="Migrate and generate tiny data first (--small)."
    )
    parser.add_argument(
        "--only",
        type=measures,
        default=MEASURES,
        help=f"Comma-separated measures to run, of {', '.join(MEASURES)} (all).",
    )
    args = parser.parse_args()
    os.environ.update(SETTINGS_ENV, DATABASE_URL=args.database_url)

    import django

    django.setup()
    sizes = SMALL if args.small else FULL
    if args.clients:
        sizes = dataclasses.replace(sizes, clients=args.clients)
    if args.memory_requests:
        sizes = dataclasses.replace(sizes, memory_requests=args.memory_requests)
    if args.generate:
        prepare_small_database()
    figures = measure_all(
        database_url=args.database_url, iterations=args.iterations, sizes=sizes, only=args.only
    )
    args.json.write_text(json.dumps(figures, indent=2, default=str))


def prepare_small_database() -> None:
    from django.core.management import call_command

    from bench.generator import generate

    with step("migrate and generate the small data"):
        call_command("migrate", verbosity=0, interactive=False)
        generate(doctors=2, years=0.2, seed=1, patients=300)


def measure_all(
    *, database_url: str, iterations: int, sizes: Sizes, only: tuple[str, ...] = MEASURES
) -> dict:
    from django.db import connection

    from bench import booking, online, patients, polls, scenario
    from bench.reports import measure_reports

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
        # The planner's cost of a random read decides the day view's join (README,
        # "Deploy"), so the table says which one the figures were taken with.
        cursor.execute("SHOW random_page_cost")
        postgres += f", random_page_cost {cursor.fetchone()[0]}"
    with step("choose the day, the doctor and the week"):
        plan = scenario.choose()
    figures: dict = {
        "postgres": postgres,
        "django": __import__("django").get_version(),
        "data": scenario.data_size(),
        "plan": plan.describe(),
        "sizes": sizes.__dict__,
    }
    marker = scenario.QueueMarker()
    try:
        if "pages" in only:
            with step("pages"):
                figures.update(scenario.measure_pages(plan, iterations))
        if "slots" in only:
            with step("free-slot search"):
                figures.update(scenario.measure_free_slots(plan, iterations))
        if "patients" in only:
            with step("patient search"):
                figures.update(patients.measure_patient_search(plan, iterations))
        if "reports" in only:
            with step("reports over a year, and the dashboard"):
                figures.update(measure_reports(plan, iterations))
        if "booking" in only:
            with step(
                f"booking over HTTP, the same work through psycopg and raw inserts, "
                f"{sizes.clients} clients; workers' memory"
            ):
                figures.update(
                    booking.measure(
                        plan=plan,
                        database_url=database_url,
                        server_env=SETTINGS_ENV,
                        clients=sizes.clients,
                        per_client=sizes.bookings_per_client,
                        iterations=iterations,
                        memory_requests=sizes.memory_requests,
                    )
                )
        if "online" in only:
            with step(
                f"the booking site, and {online.BROWSERS} visitors with {online.BOOKERS} booking"
            ):
                figures.update(
                    online.measure_online(
                        plan, iterations, database_url=database_url, server_env=SETTINGS_ENV
                    )
                )
        if "dispatch" in only:
            with step(f"notification dispatch, {sizes.reminders} reminders"):
                figures.update(measure_dispatch(plan, sizes.reminders, iterations))
        if "stripe" in only:
            with step(f"Stripe webhooks, {sizes.stripe_events} events"):
                figures.update(measure_stripe_webhooks(sizes.stripe_events, iterations))
        if "polls" in only:
            with step(
                f"polls: unchanged (304), and {polls.SCREENS} screens for {sizes.poll_seconds} s"
            ):
                figures.update(polls.measure_polls(plan, iterations, sizes.poll_seconds))
    finally:
        marker.delete_new_tasks()
        plan.clean_up()
    return figures


# --- Notification dispatch ---------------------------------------------------------


def measure_dispatch(plan, count: int, iterations: int) -> dict:
    """Reminders due now, sent by the dispatcher in this process to the fake Twilio."""
    from django.test import override_settings

    from bench.scenario import own_messages_held_back
    from notifications.dispatch import dispatch_due
    from notifications.models import Notification, Status
    from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, FakeTwilio

    fake = FakeTwilio().start()
    twilio = override_settings(
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=FROM_NUMBER,
        TWILIO_MESSAGING_SERVICE_SID="",
        TWILIO_API_BASE_URL=fake.url,
        PUBLIC_BASE_URL="",
        NOTIFICATION_CHANNELS={
            "sms": "notifications.channels.TwilioSMS",
            "in_app": "notifications.channels.InApp",
            "email": "notifications.channels.Email",
        },
    )
    rates = []
    try:
        with twilio, own_messages_held_back() as held:
            for run in range(iterations):
                prefix = f"bench:{os.getpid()}:{run}:"
                Notification.objects.bulk_create(plan.reminders(count, prefix), batch_size=1000)
                try:
                    started = time.perf_counter()
                    report = dispatch_due(time_budget=3600)
                    elapsed = time.perf_counter() - started
                finally:
                    mine = Notification.objects.filter(idempotency_key__startswith=prefix)
                    sent = mine.filter(status=Status.SENT).count()
                    mine.delete()
                if sent != count or len(fake.messages) != count:
                    raise SystemExit(
                        f"Dispatch sent {sent} of {count} reminders ({report.outcomes}); "
                        f"the fake Twilio got {len(fake.messages)}."
                    )
                fake.requests.clear()
                rates.append(count / elapsed)
    finally:
        fake.stop()
    return {"dispatch_per_s": rates, "dispatch_held_back": held}


# --- Stripe webhooks ---------------------------------------------------------------


def paid_checkouts(count: int) -> list[dict]:
    """Checkout Sessions as Stripe describes them, of online payments that went
    through: Stripe sends their events again now and then."""
    from payments.models import Payment, PaymentStatus
    from payments.money import to_minor_units

    payments = Payment.objects.filter(
        method="stripe", status=PaymentStatus.SUCCEEDED, invoice__voided_at__isnull=True
    ).exclude(checkout_session_id="")
    return [
        {
            "id": payment.checkout_session_id,
            "object": "checkout.session",
            "payment_status": "paid",
            "status": "complete",
            "payment_intent": payment.payment_intent_id,
            "amount_total": to_minor_units(payment.amount, payment.invoice.currency),
            "currency": payment.invoice.currency.lower(),
            "metadata": {"payment_id": str(payment.pk), "invoice_id": str(payment.invoice_id)},
        }
        for payment in payments.select_related("invoice").order_by("-pk")[:count]
    ]


def stripe_event(number: int, prefix: str, checkouts: list[dict]) -> dict:
    """Stripe sending again the completion (two in three) or, out of order, an expiry
    of a checkout that was paid: the worker finds the payment, locks it, sees it
    settled and changes nothing. Without Stripe payments in the database, the same
    about checkouts that are not the clinic's (looked up, not found)."""
    kind = ("checkout.session.completed", "checkout.session.expired")[number % 3 == 2]
    if checkouts:
        checkout = checkouts[number % len(checkouts)]
    else:
        checkout = {"id": f"cs_{prefix}_{number}", "object": "checkout.session"}
    return {
        "id": f"evt_{prefix}_{number}",
        "object": "event",
        "api_version": "2025-06-30.basil",
        "created": int(time.time()),
        "type": kind,
        "data": {"object": checkout},
    }


def signed(payload: str, secret: str) -> str:
    """The Stripe-Signature header, as Stripe makes it."""
    timestamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def measure_stripe_webhooks(count: int, iterations: int) -> dict:
    """Signed events POSTed to the webhook in this process (stored, queued), then each
    processed by the worker's task function."""
    from django.test import Client, override_settings

    from payments.models import StripeEvent
    from payments.tasks import process_stripe_event

    client = Client()
    checkouts = paid_checkouts(count)
    accepted, processed = [], []
    with override_settings(STRIPE_WEBHOOK_SECRET=STRIPE_SECRET):
        for run in range(iterations):
            prefix = f"bench{os.getpid()}r{run}"
            payloads = [json.dumps(stripe_event(n, prefix, checkouts)) for n in range(count)]
            requests = [(payload, signed(payload, STRIPE_SECRET)) for payload in payloads]
            try:
                started = time.perf_counter()
                for payload, signature in requests:
                    response = client.post(
                        "/webhooks/stripe/",
                        payload,
                        content_type="application/json",
                        headers={"Stripe-Signature": signature},
                    )
                    if response.status_code != 200:
                        raise SystemExit(f"The webhook answered {response.status_code}.")
                accepted.append(count / (time.perf_counter() - started))
                stored = list(
                    StripeEvent.objects.filter(event_id__startswith=f"evt_{prefix}_")
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                started = time.perf_counter()
                outcomes = {process_stripe_event(pk) for pk in stored}
                processed.append(len(stored) / (time.perf_counter() - started))
            finally:
                StripeEvent.objects.filter(event_id__startswith=f"evt_{prefix}_").delete()
            if len(stored) != count or outcomes != {"ignored"}:
                raise SystemExit(f"Stored {len(stored)} of {count} events; outcomes {outcomes}.")
    return {
        "stripe_accepted_per_s": accepted,
        "stripe_processed_per_s": processed,
        "stripe_paid_checkouts": len(checkouts),
    }


# --- Output ------------------------------------------------------------------------


@contextmanager
def step(what: str) -> Iterator[None]:
    started = time.perf_counter()
    print(f"  {what} ...", file=sys.stderr, flush=True)
    yield
    print(f"  {what}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
