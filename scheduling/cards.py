"""An appointment's card on the reception day view, ready to show.

A busy day shows hundreds of cards, and Django's template engine is slow at method
calls and lookups, so a card's strings (its times, status, links) are made once
here, from the few columns it needs, and the template reads plain attributes. The
card an htmx quick action sends back is made the same way, from the appointment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.kernel.dates import format_time_of_day
from patients.models import full_name

from .actions import Button, listed_buttons
from .constraints import INACTIVE_STATUSES
from .models import Appointment, Status, offered_actions, time_range

COMPACT_BELOW = timedelta(minutes=30)

# What a card reads of an appointment, in the order cards() unpacks them.
CARD_COLUMNS = (
    "pk",
    "doctor_id",
    "status",
    "starts_at",
    "ends_at",
    "patient__given_name",
    "patient__family_name",
    "service__name",
    "held_until",
)


@dataclass(frozen=True)
class Card:
    pk: int
    doctor_id: int
    status: str
    status_label: str
    starts_at: datetime
    ends_at: datetime
    patient_name: str
    service_name: str
    time_range: str
    url: str
    # The offered quick actions' URLs, keyed by action with "_" for "-" so that the
    # template can name them ("check_in").
    action_urls: dict[str, str]
    # The offered actions whose buttons the template draws from the registry
    # (scheduling/actions.py) rather than writing them out.
    buttons: tuple[Button, ...] = ()
    # A waitlist hold (status held): what the card says instead of a status, as
    # "Held for the waitlist until 10:42". Empty for every other status.
    held_label: str = ""
    # Not free time (calendar.FreeSpace), beside which the grid lists the cards.
    is_free = False

    @property
    def is_active(self) -> bool:
        return self.status not in INACTIVE_STATUSES

    @property
    def is_held(self) -> bool:
        """Held for a waitlist offer: no patient is booked yet, so no quick actions."""
        return self.status == Status.HELD

    @property
    def is_compact(self) -> bool:
        """A card too short on the grid for its buttons (under COMPACT_BELOW) shows
        one line and a menu that opens its actions; day-grid.js makes any other card
        compact too if its buttons do not fit its cell."""
        return self.ends_at - self.starts_at < COMPACT_BELOW

    @property
    def starts_label(self) -> str:
        return self.time_range.partition("–")[0]


def make_card(
    pk: int,
    doctor_id: int,
    status: str,
    starts_at: datetime,
    ends_at: datetime,
    patient_name: str,
    service_name: str,
    held_until: datetime | None = None,
    *,
    now: datetime,
) -> Card:
    url = reverse("scheduling:detail", args=[pk])
    # The actions' pages live under the appointment's own URL (scheduling/urls.py),
    # so one reverse() serves them all; a test holds them to reverse().
    offered = offered_actions(status, starts_at, now)
    action_urls = {action.replace("-", "_"): f"{url}{action}/" for action in offered}
    return Card(
        pk=pk,
        doctor_id=doctor_id,
        status=status,
        status_label=str(Status(status).label),
        starts_at=starts_at,
        ends_at=ends_at,
        patient_name=patient_name,
        service_name=service_name,
        time_range=time_range(starts_at, ends_at),
        url=url,
        action_urls=action_urls,
        buttons=listed_buttons(offered, url=url, patient_name=patient_name),
        held_label=held_label(status, held_until),
    )


def held_label(status: str, held_until: datetime | None) -> str:
    """What a hold's card says: for whom the time is kept, and until when."""
    if status != Status.HELD:
        return ""
    if held_until is None:
        return _("Held for the waitlist")
    return _("Held for the waitlist until %(time)s") % {
        "time": format_time_of_day(timezone.localtime(held_until))
    }


def card_of(appointment: Appointment) -> Card:
    """The card of an appointment fetched with its patient and service."""
    return make_card(
        appointment.pk,
        appointment.doctor_id,
        appointment.status,
        appointment.starts_at,
        appointment.ends_at,
        patient_name=appointment.patient.full_name,
        service_name=appointment.service.name,
        held_until=appointment.held_until,
        now=timezone.now(),
    )


def cards(appointments: QuerySet[Appointment]) -> list[Card]:
    """The cards of `appointments`, in their order, read in one query of plain rows."""
    now = timezone.now()
    rows = appointments.values_list(*CARD_COLUMNS)
    # A row is CARD_COLUMNS: the card's first five fields, the patient's two names,
    # the service's name and until when a hold is kept.
    return [
        make_card(
            pk,
            doctor_id,
            status,
            starts_at,
            ends_at,
            full_name(given, family),
            service,
            held_until,
            now=now,
        )
        for pk, doctor_id, status, starts_at, ends_at, given, family, service, held_until in rows
    ]
