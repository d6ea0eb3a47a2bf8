"""Reconcile with Stripe now, rather than at the worker's next round (pending
payments, waiting events, refunds and disputes made in Stripe's dashboard; see
payments/reconciliation.py): `manage.py reconcile_payments [--older-than MINUTES]`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from payments.reconciliation import reconcile_pending_payments

# A year: a checkout lasts a day at most, and more would overflow the date.
MAX_MINUTES = 366 * 24 * 60


class Command(BaseCommand):
    help = (
        "Settle or close the online payments still pending, retry the Stripe events "
        "waiting for their payment, and record refunds and disputes made in Stripe."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            metavar="MINUTES",
            help="Check checkouts older than this (default: PAYMENTS_RECONCILE_AFTER_MINUTES).",
        )

    def handle(self, *args, older_than: int | None = None, **options) -> None:
        if older_than is not None and not 0 <= older_than <= MAX_MINUTES:
            raise CommandError(f"--older-than takes 0 to {MAX_MINUTES} minutes.")
        lines = reconcile_pending_payments(older_than_minutes=older_than)
        for line in lines:
            self.stdout.write(line)
        if not lines:
            self.stdout.write("Nothing to reconcile.")
