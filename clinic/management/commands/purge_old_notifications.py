"""Delete old operational rows: `manage.py purge_old_notifications [--days N] [--dry-run]`.

What goes, and after how long:

- outbox messages in a final status (sent, delivered, failed, skipped, cancelled)
  not changed for NOTIFICATIONS_RETENTION_DAYS;
- inbound SMS, processed Stripe webhook events and the worker's successful task
  results older than WEBHOOK_EVENTS_RETENTION_DAYS;
- the booking site's phone codes and their texts, and the personal links of
  appointments that are over, a day on; expired sessions.

Nothing else: patients, appointments, sessions, clinical records, invoices, payments,
refunds and the access log are kept for as long as the clinic keeps them. Messages
still pending or being sent, and Stripe events not processed yet, stay too. The
deletes run in batches, so a large first purge does not lock the outbox for long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_q.models import Success

from clinic.models import StaffSession
from notifications.models import PHONE_CODE_TEMPLATE, InboundMessage, Notification, Status
from online.models import ManageLink, PhoneCode
from payments.models import StripeEvent

PURGED_STATUSES = [
    Status.SENT,
    Status.DELIVERED,
    Status.FAILED,
    Status.SKIPPED,
    Status.CANCELLED,
]
BATCH_SIZE = 5000


@dataclass(frozen=True)
class Purge:
    description: str
    rows: QuerySet


# The booking site's codes and links: a day after they stop working.
SECRETS_RETENTION_DAYS = 1
# A century: more would reach before year 1 when subtracted from today.
MAX_DAYS = 36_500


class Command(BaseCommand):
    help = "Delete old sent messages, inbound SMS, Stripe events and task results."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            help="Keep this many days of everything it purges (default: "
            "NOTIFICATIONS_RETENTION_DAYS and WEBHOOK_EVENTS_RETENTION_DAYS).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would go; delete nothing."
        )

    def handle(self, *args, days: int | None, dry_run: bool, **options) -> None:
        if days is not None and not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days takes 1 to {MAX_DAYS} days.")
        for purge in purges(days=days):
            if dry_run:
                self.stdout.write(f"Would delete {purge.rows.count()} {purge.description}.")
            else:
                self.stdout.write(f"Deleted {delete_in_batches(purge.rows)} {purge.description}.")


def purges(*, days: int | None = None) -> list[Purge]:
    now = timezone.now()
    messages_before = now - timedelta(days=days or settings.NOTIFICATIONS_RETENTION_DAYS)
    events_before = now - timedelta(days=days or settings.WEBHOOK_EVENTS_RETENTION_DAYS)
    secrets_before = now - timedelta(days=days or SECRETS_RETENTION_DAYS)
    return [
        Purge(
            f"outbox messages in a final status, unchanged since {messages_before:%Y-%m-%d}",
            Notification.objects.filter(status__in=PURGED_STATUSES, updated_at__lt=messages_before),
        ),
        Purge(
            f"inbound SMS received before {events_before:%Y-%m-%d}",
            InboundMessage.objects.filter(received_at__lt=events_before),
        ),
        Purge(
            f"processed Stripe events received before {events_before:%Y-%m-%d}",
            StripeEvent.objects.filter(
                outcome__in=[StripeEvent.Outcome.APPLIED, StripeEvent.Outcome.IGNORED],
                received_at__lt=events_before,
            ),
        ),
        Purge(
            f"successful worker task results from before {events_before:%Y-%m-%d}",
            Success.objects.filter(stopped__lt=events_before),
        ),
        # What the booking site keeps of its visitors, useless once expired: the
        # phone codes (and their texts, the code in plain words), the personal
        # links of appointments over, and expired sessions (a visitor's details
        # between the steps).
        Purge(
            f"booking site codes and their texts from before {secrets_before:%Y-%m-%d}",
            PhoneCode.objects.filter(created_at__lt=secrets_before),
        ),
        Purge(
            f"texts of booking site codes sent before {secrets_before:%Y-%m-%d}",
            Notification.objects.filter(
                template=PHONE_CODE_TEMPLATE,
                status__in=PURGED_STATUSES,
                updated_at__lt=secrets_before,
            ),
        ),
        Purge(
            f"personal links of appointments over before {secrets_before:%Y-%m-%d}",
            ManageLink.objects.filter(appointment__ends_at__lt=secrets_before),
        ),
        Purge("expired sessions", StaffSession.objects.filter(expire_date__lt=now)),
    ]


def delete_in_batches(rows: QuerySet) -> int:
    deleted = 0
    while batch := list(rows.values_list("pk", flat=True)[:BATCH_SIZE]):
        with transaction.atomic():
            count, _by_model = rows.model._base_manager.filter(pk__in=batch).delete()
        deleted += count
        if len(batch) < BATCH_SIZE:
            break
    return deleted
