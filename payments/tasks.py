"""Entry points the django-q2 worker runs (by dotted path)."""

from __future__ import annotations

from .events import process_event
from .reconciliation import reconcile_pending_payments as _reconcile_pending_payments

# The webhook enqueues this function for each new event.
PROCESS_EVENT_TASK = "payments.tasks.process_stripe_event"


def process_stripe_event(event_pk: int) -> str:
    """Apply one stored Stripe event; the result (its outcome) is kept in the task's
    record."""
    return str(process_event(event_pk))


def reconcile_pending_payments() -> list[str]:
    """Run by the periodic schedule (migration 0003): settle or close the online
    payments whose webhook never came, retry the events waiting for their payment,
    and record refunds and disputes made in Stripe; the result lists what changed."""
    return _reconcile_pending_payments()
