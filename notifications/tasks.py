"""Entry points the django-q2 worker runs (by dotted path)."""

from __future__ import annotations

from .dispatch import dispatch_due as _dispatch_due

# The periodic schedule (migration 0003) and wake_worker both name this function.
DISPATCH_TASK = "notifications.tasks.dispatch_due"


def dispatch_due() -> dict[str, int]:
    """Send what is due; the result (outcome counts) is kept in the task's record."""
    return _dispatch_due().outcomes
