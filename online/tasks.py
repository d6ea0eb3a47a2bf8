"""The worker's periodic work for patients online (schedule: migration 0002)."""

from __future__ import annotations

from .waitlist import expire_offers

EXPIRE_OFFERS_TASK = "online.tasks.pass_on_lapsed_offers"


def pass_on_lapsed_offers() -> int:
    """Every minute: waitlist offers whose hold lapsed go to the next waiter."""
    return expire_offers()
