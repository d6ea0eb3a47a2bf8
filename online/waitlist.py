"""The waitlist that refills freed times (DESIGN.md section 9).

When an appointment's time frees (cancelled, moved away, the doctor's time off
removed), `refill` offers it to the waiting patients who want it, in turn (higher
priority, then who joined first). Each offer *holds* its time as an appointment in
status held (scheduling.holds), which the overlap constraints respect, so nobody
can book it meanwhile. The patient takes it by the link in the text or by replying
YES; NO, or no answer before the hold lapses, passes the time on to the next waiter
in the same transaction (the time is never free in between), or frees it when
nobody else wants it.

Every offer and answer locks the offer's row first, then the hold's: two answers to
one offer (the link and a YES at once, or a late YES and the lapse) take turns, and
exactly one of them decides.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.kernel.errors import DomainError
from clinic.kernel.quiet_hours import outside_quiet_hours
from clinic.kernel.users import User
from doctors.models import Doctor, WorkingHours
from patients.models import Patient
from scheduling.availability import local_day
from scheduling.exceptions import SchedulingError
from scheduling.holds import check_held_time, hold_time, release_hold, take_hold
from scheduling.models import Appointment, AppointmentChange, Service
from scheduling.selectors import MAX_SEARCH_DAYS, Slot, free_slots

from . import signals
from .models import TIMES_OF_DAY, OnlineRules, TimesOfDay, WaitlistEntry, WaitlistOffer
from .tokens import digest, new_token

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

logger = logging.getLogger(__name__)

Via = AppointmentChange.Via
# The longest range of dates a patient may wait for.
MAX_WAIT_DAYS = 90


class WaitlistError(DomainError):
    """What the waitlist refuses, in words for the patient or the desk."""


class OfferGone(WaitlistError):
    """The offer was answered, lapsed or withdrawn: its time is not theirs to take."""

    code = "offer_gone"


# --- Joining and leaving ------------------------------------------------------------


def join_waitlist(
    *,
    patient: Patient,
    service: Service,
    doctor: Doctor | None,
    date_from: date,
    date_to: date,
    times_of_day: str = TimesOfDay.ANY,
    source: str,
    by: User | None = None,
    priority: int | None = None,
) -> WaitlistEntry:
    """Put the patient on the waitlist. A patient already waiting for the service
    has their wish updated (and their priority, when one is given) rather than a
    second place in the queue."""
    today = timezone.localdate()
    if priority is not None:
        _check_priority(priority)
    if not service.is_active:
        raise WaitlistError(_("%(service)s is no longer offered.") % {"service": service.name})
    if doctor is not None and not (
        doctor.is_active and service.offering_doctors().filter(pk=doctor.pk).exists()
    ):
        raise WaitlistError(
            _("%(doctor)s does not offer %(service)s.")
            % {"doctor": doctor, "service": service.name}
        )
    check_dates(date_from, date_to)
    if times_of_day not in TimesOfDay.values:
        raise WaitlistError(_("Choose a time of day."))
    wish: dict[str, object] = {
        "doctor": doctor,
        "date_from": max(date_from, today),
        "date_to": date_to,
        "times_of_day": times_of_day,
    }
    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_for_update()
            .filter(
                patient=patient,
                service=service,
                status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED],
            )
            .first()
        )
        if entry is not None:
            if priority is not None:
                wish["priority"] = priority
            for name, value in wish.items():
                setattr(entry, name, value)
            entry.save(update_fields=[*wish])
            return entry
        entry = WaitlistEntry.objects.create(
            patient=patient,
            service=service,
            source=source,
            added_by=by,
            priority=priority or 0,
            **wish,
        )
        signals.waitlist_joined.send(WaitlistEntry, entry=entry)
        return entry


def times_of_day_worked(doctors: QuerySet[Doctor]) -> list[tuple[str, StrOrPromise]]:
    """The times of day a patient may wait for: any, and those some of `doctors`
    works in (no "evenings" in a clinic that closes at five)."""
    hours = list(WorkingHours.objects.filter(doctor__in=doctors).values_list("starts", "ends"))
    choices: list[tuple[str, StrOrPromise]] = []
    for value, label in TimesOfDay.choices:
        first, last = TIMES_OF_DAY[value]
        if value == TimesOfDay.ANY or any(starts < last and ends > first for starts, ends in hours):
            choices.append((value, label))
    return choices


def check_dates(date_from: date, date_to: date) -> None:
    """Refuse a range of dates nobody can be offered a time in."""
    today = timezone.localdate()
    if date_to < date_from:
        raise WaitlistError(_("The last date is before the first."))
    if date_to < today:
        raise WaitlistError(_("Those dates are past."))
    if (date_to - max(date_from, today)).days >= MAX_WAIT_DAYS:
        raise WaitlistError(
            _("Wait for at most %(days)s days at a time.") % {"days": MAX_WAIT_DAYS}
        )


def leave_waitlist(*, entry: WaitlistEntry) -> WaitlistEntry:
    """Take the patient off the waitlist; an open offer of theirs is withdrawn and
    its time passed on."""
    with transaction.atomic():
        for offer in entry.offers.filter(status=WaitlistOffer.Status.OPEN):
            current = _locked(offer)
            if current.status == WaitlistOffer.Status.OPEN:  # Not taken meanwhile.
                _close(current, WaitlistOffer.Status.WITHDRAWN)
        WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistEntry.Status.REMOVED)
    entry.status = WaitlistEntry.Status.REMOVED
    return entry


# Reception's priorities run from -99 to 99 (higher is offered first).
PRIORITY_LIMIT = 99


def set_priority(*, entry: WaitlistEntry, priority: int) -> WaitlistEntry:
    """Reception moves a waiter up (or down) the queue."""
    _check_priority(priority)
    WaitlistEntry.objects.filter(pk=entry.pk).update(priority=priority)
    entry.priority = priority
    return entry


def _check_priority(priority: int) -> None:
    if not -PRIORITY_LIMIT <= priority <= PRIORITY_LIMIT:
        raise WaitlistError(
            _("A priority runs from -%(limit)s to %(limit)s.") % {"limit": PRIORITY_LIMIT}
        )


# --- Offering freed time -------------------------------------------------------------


def refill(*, doctor: Doctor, starts_at: datetime, ends_at: datetime) -> list[WaitlistOffer]:
    """Offer the doctor's freed time [starts_at, ends_at) to the waiters who want it,
    one offer each, in turn, until it is all held or nobody else wants it. Safe to
    run twice: a held time is not free the second time."""
    with transaction.atomic():
        return _offer_window(doctor=doctor, starts_at=starts_at, ends_at=ends_at)


def _offer_window(*, doctor: Doctor, starts_at: datetime, ends_at: datetime) -> list[WaitlistOffer]:
    rules = OnlineRules.current()
    now = timezone.now()
    starts_at = max(starts_at, now + rules.min_notice)
    if starts_at >= ends_at:
        return []
    tried = _offered_this_time(doctor, starts_at, ends_at)
    offers = []
    for entry in _waiting_for(doctor, local_day(starts_at), local_day(ends_at)):
        if entry.pk in tried:
            continue  # Offered this very time before, and passed.
        offer = _offer_first_fit(entry, doctor, starts_at, ends_at, rules)
        if offer is not None:
            offers.append(offer)
    return offers


def _waiting_for(doctor: Doctor, first_day: date, last_day: date) -> list[WaitlistEntry]:
    """The waiting entries that could take a time of `doctor` between the two days:
    patients the clinic can text (an offer is a text), and for one who joined online
    and takes any doctor, only a doctor patients may book online."""
    anyone = Q(doctor__isnull=True)
    if not doctor.bookable_online:
        anyone &= ~Q(source=WaitlistEntry.Source.ONLINE)
    # Services this doctor offers (naming them, or naming no doctor at all).
    chosen = Service.doctors.through.objects.filter(service_id=OuterRef("service_id"))
    offered = Q(Exists(chosen.filter(doctor_id=doctor.pk))) | ~Q(Exists(chosen))
    return list(
        WaitlistEntry.objects.waiting()
        .filter(
            offered,
            Q(doctor=doctor) | anyone,
            date_from__lte=last_day,
            date_to__gte=first_day,
            service__is_active=True,
            patient__sms_opted_out_at__isnull=True,
        )
        .exclude(patient__phone="")
        .select_related("patient", "service")
        .in_turn()
    )


def _offered_this_time(doctor: Doctor, starts_at: datetime, ends_at: datetime) -> set[int]:
    """The entries already offered a time of `doctor` overlapping the window."""
    return set(
        WaitlistOffer.objects.filter(
            hold__doctor=doctor, hold__starts_at__lt=ends_at, hold__ends_at__gt=starts_at
        ).values_list("entry_id", flat=True)
    )


def _offer_first_fit(
    entry: WaitlistEntry,
    doctor: Doctor,
    starts_at: datetime,
    ends_at: datetime,
    rules: OnlineRules,
) -> WaitlistOffer | None:
    """Hold and offer `entry` the first free time in the window that they want, if any."""
    for slot in _free_times_in(entry, doctor, starts_at, ends_at):
        try:
            with transaction.atomic():
                return _offer(entry, slot, rules)
        except SchedulingError:
            continue  # Taken meanwhile, or the patient has another appointment then.
        except _OfferedMeanwhile:
            return None
    return None


def _free_times_in(
    entry: WaitlistEntry, doctor: Doctor, starts_at: datetime, ends_at: datetime
) -> list[Slot]:
    first_day = max(local_day(starts_at), entry.date_from)
    last_day = min(local_day(ends_at), entry.date_to, first_day + timedelta(MAX_SEARCH_DAYS - 1))
    if last_day < first_day:
        return []
    slots = free_slots(
        service=entry.service,
        date_from=first_day,
        date_to=last_day,
        doctor=doctor,
        patient=entry.patient,
    )
    return [
        slot
        for slot in slots
        if starts_at <= slot.starts_at and slot.ends_at <= ends_at and entry.wants(slot.starts_at)
    ]


class _OfferedMeanwhile(Exception):
    """Another refill offered this waiter a time first."""


def _offer(entry: WaitlistEntry, slot: Slot, rules: OnlineRules) -> WaitlistOffer:
    # Claimed first, by a conditional update that waits for a rival refill's: one
    # waiter, one open offer (the rival's commit leaves nothing to claim here).
    claimed = WaitlistEntry.objects.filter(pk=entry.pk, status=WaitlistEntry.Status.WAITING).update(
        status=WaitlistEntry.Status.OFFERED
    )
    if not claimed:
        raise _OfferedMeanwhile
    # The hold runs from when its text can go: an offer made in quiet hours is
    # texted in the morning and held until a while after.
    until = outside_quiet_hours(timezone.now()) + rules.offer_hold
    hold = hold_time(
        service=entry.service,
        doctor=slot.doctor,
        patient=entry.patient,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        until=until,
    )
    token = new_token()
    offer = WaitlistOffer.objects.create(
        entry=entry, hold=hold, token_hash=digest(token, purpose="offer"), expires_at=until
    )
    entry.status = WaitlistEntry.Status.OFFERED
    link = settings.PUBLIC_BASE_URL + reverse("online:offer", args=[token])
    signals.waitlist_offer_made.send(WaitlistOffer, offer=offer, link=link)
    logger.info("Waitlist offer %s made for appointment %s", offer.pk, hold.pk)
    return offer


# --- Answers -----------------------------------------------------------------------------


def offer_for_link(token: str) -> WaitlistOffer | None:
    return (
        WaitlistOffer.objects.select_related(
            "hold__doctor", "hold__service", "entry__patient", "entry__service"
        )
        .filter(token_hash=digest(token, purpose="offer"))
        .first()
    )


def open_offer_for(patients: list[Patient]) -> WaitlistOffer | None:
    """The latest open offer to one of `patients` (the ones with a replying phone)."""
    return (
        WaitlistOffer.objects.filter(status=WaitlistOffer.Status.OPEN, entry__patient__in=patients)
        .order_by("-offered_at", "-pk")
        .first()
    )


def accept_offer(*, offer: WaitlistOffer, via: str) -> Appointment:
    """Take the offered time: the hold becomes the patient's booked appointment.
    Answering an offer taken already gives the same appointment; one that lapsed or
    went to another waiter raises `OfferGone` (the patient stays on the list)."""
    lapsed = False
    with transaction.atomic():
        current = _locked(offer)
        if current.status == WaitlistOffer.Status.ACCEPTED:
            return current.hold
        if current.status == WaitlistOffer.Status.OPEN and current.expires_at <= timezone.now():
            _close(current, WaitlistOffer.Status.EXPIRED)
            lapsed = True
        elif current.status == WaitlistOffer.Status.OPEN and not _still_bookable(current):
            # The doctor's time changed since (time off, fewer hours, no longer
            # working): the time cannot be booked, so it is not offered any more.
            _close(current, WaitlistOffer.Status.WITHDRAWN)
        elif current.status == WaitlistOffer.Status.OPEN:
            appointment = take_hold(hold=current.hold, via=via)
            _answered(current, WaitlistOffer.Status.ACCEPTED)
            WaitlistEntry.objects.filter(pk=current.entry_id).update(
                status=WaitlistEntry.Status.BOOKED, appointment=appointment
            )
            logger.info("Waitlist offer %s accepted", current.pk)
            return appointment
    if lapsed:
        raise OfferGone(_("Sorry, this offer has lapsed. You are still on the waitlist."))
    raise OfferGone(_("Sorry, this time is no longer held for you. You are still on the waitlist."))


def _still_bookable(offer: WaitlistOffer) -> bool:
    hold = offer.hold
    try:
        check_held_time(hold)
    except SchedulingError:
        return False
    return True


def decline_offer(*, offer: WaitlistOffer) -> WaitlistOffer:
    """The patient passes: the time goes to the next waiter; they stay on the list."""
    with transaction.atomic():
        current = _locked(offer)
        if current.status != WaitlistOffer.Status.OPEN:
            raise OfferGone(_("This offer has already been answered or has lapsed."))
        _close(current, WaitlistOffer.Status.DECLINED)
    return current


def expire_offers() -> int:
    """Pass on every offer whose hold has lapsed; returns how many (the worker runs
    this every minute; safe to run twice or at once: each offer is locked, and one
    taken by another run is skipped)."""
    expired = 0
    due = WaitlistOffer.objects.filter(
        status=WaitlistOffer.Status.OPEN, expires_at__lte=timezone.now()
    ).values_list("pk", flat=True)
    for pk in list(due):
        try:
            with transaction.atomic():
                offer = (
                    WaitlistOffer.objects.select_for_update(skip_locked=True)
                    .filter(pk=pk, status=WaitlistOffer.Status.OPEN)
                    .first()
                )
                if offer is None:
                    continue
                _close(offer, WaitlistOffer.Status.EXPIRED)
                expired += 1
        except Exception:
            # One offer that cannot be passed on must not hold up the others'.
            logger.exception("Could not pass on lapsed waitlist offer %s", pk)
    return expired


def _locked(offer: WaitlistOffer) -> WaitlistOffer:
    return (
        WaitlistOffer.objects.select_for_update(of=("self",))
        .select_related("hold", "entry")
        .get(pk=offer.pk)
    )


def _answered(offer: WaitlistOffer, status: str) -> None:
    offer.status, offer.answered_at = status, timezone.now()
    offer.save(update_fields=["status", "answered_at"])


def _close(offer: WaitlistOffer, status: str) -> None:
    """End an open offer that was not taken (declined, lapsed or withdrawn): the
    patient waits again (unless they left), and the held time goes to the next
    waiter in this same transaction, or is freed."""
    _answered(offer, status)
    WaitlistEntry.objects.filter(pk=offer.entry_id, status=WaitlistEntry.Status.OFFERED).update(
        status=WaitlistEntry.Status.WAITING
    )
    if status == WaitlistOffer.Status.EXPIRED:
        signals.waitlist_offer_lapsed.send(WaitlistOffer, offer=offer)
    hold = release_hold(hold=offer.hold)
    _offer_window(doctor=hold.doctor, starts_at=hold.starts_at, ends_at=hold.ends_at)
