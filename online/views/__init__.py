"""The public booking site's pages, at /book/ (no staff login): booking step by
step (booking.py) and the personal links of patients' texts (links.py)."""

from .booking import (
    another_time,
    booked,
    details,
    home,
    joined,
    new_code,
    service_times,
    verify,
    waitlist,
)
from .links import cancel, manage, move, offer

__all__ = [
    "another_time",
    "booked",
    "cancel",
    "details",
    "home",
    "joined",
    "manage",
    "move",
    "new_code",
    "offer",
    "service_times",
    "verify",
    "waitlist",
]
