"""The pages of the personal links in patients' texts: manage an appointment
(confirm, cancel, move) and answer a waitlist offer. The token in the address is
the only key; request logs show it as "[redacted]" (clinic.middleware)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from clinic.kernel.dates import format_day, format_time_of_day
from clinic.kernel.errors import DomainError
from clinic.kernel.languages import use_patient_language
from scheduling.models import RESCHEDULABLE, Appointment, AppointmentChange
from scheduling.models import Status as AppointmentStatus

from ..models import OnlineRules, WaitlistEntry, WaitlistOffer
from ..services import (
    TimeTaken,
    appointment_for_link,
    can_cancel_online,
    cancel_online,
    confirm_online,
    reschedule_online,
)
from ..waitlist import OfferGone, accept_offer, decline_offer, offer_for_link
from . import times
from .public import not_found, page, public_page


def _context(appointment: Appointment, token: str, rules: OnlineRules) -> dict[str, object]:
    return {
        "appointment": appointment,
        "token": token,
        "is_active": appointment.status in RESCHEDULABLE,
        "is_cancelled": appointment.status == AppointmentStatus.CANCELLED,
        "can_confirm": appointment.status == AppointmentStatus.BOOKED,
        "can_change": can_cancel_online(appointment, rules),
        "clinic_address": settings.CLINIC_ADDRESS,
        "clinic_phone": settings.CLINIC_PHONE,
        "directions": rules.directions,
    }


def _when(appointment: Appointment) -> str:
    starts_at = appointment.starts_at
    return f"{format_day(starts_at, 'l j F')} {format_time_of_day(starts_at)}"


# --- Manage an appointment ------------------------------------------------------------


@public_page
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    """The appointment of the link: when, with whom, where; confirm it."""
    appointment = appointment_for_link(token)
    if appointment is None:
        return not_found(request, what="link")
    use_patient_language(request, appointment.patient.preferred_language)
    if request.method == "POST":
        if request.POST.get("action") != "confirm":
            messages.error(request, _("Choose what to do with your appointment."))
            return redirect("online:manage", token=token)
        try:
            confirm_online(appointment=appointment)
        except DomainError as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, _("Thank you: your appointment is confirmed."))
        return redirect("online:manage", token=token)
    rules = OnlineRules.current()
    return page(request, "online/manage.html", _context(appointment, token, rules))


@public_page
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    """Cancel, after a confirmation step, up to the late-cancel cutoff."""
    appointment = appointment_for_link(token)
    if appointment is None:
        return not_found(request, what="link")
    use_patient_language(request, appointment.patient.preferred_language)
    rules = OnlineRules.current()
    error = ""
    if request.method == "POST":
        try:
            cancel_online(appointment=appointment, rules=rules)
        except DomainError as refusal:
            error = refusal.message
        else:
            return redirect("online:manage", token=token)  # It says it is cancelled.
    context = {**_context(appointment, token, rules), "error": error}
    return page(request, "online/cancel.html", context, status=400 if error else 200)


@public_page
@require_http_methods(["GET", "POST"])
def move(request: HttpRequest, token: str) -> HttpResponse:
    """Another free time with the same doctor, up to the late-cancel cutoff."""
    appointment = appointment_for_link(token)
    if appointment is None:
        return not_found(request, what="link")
    use_patient_language(request, appointment.patient.preferred_language)
    rules = OnlineRules.current()
    error = ""
    if request.method == "POST" and can_cancel_online(appointment, rules):
        chosen = times.parse_value(request.POST.get("time", ""))
        if chosen is None or chosen[0] != appointment.doctor_id:
            error = _("Choose one of the times below.")
        else:
            starts_at = chosen[1]
            error = times.refusal(
                service=appointment.service,
                doctor=appointment.doctor,
                starts_at=starts_at,
                rules=rules,
                ignoring=appointment,
            )
            if not error:
                try:
                    moved = reschedule_online(
                        appointment=appointment, starts_at=starts_at, rules=rules
                    )
                except TimeTaken:
                    error = str(times.NOT_FREE)
                except DomainError as refusal:
                    error = refusal.message
                else:
                    messages.success(
                        request,
                        _("Your appointment is moved to %(when)s.") % {"when": _when(moved)},
                    )
                    return redirect("online:manage", token=token)
    week = None
    if can_cancel_online(appointment, rules):
        week = times.week(
            service=appointment.service,
            doctor=appointment.doctor,
            first_day=times.first_day_from(request.GET.get("from"), rules),
            rules=rules,
            ignoring=appointment,
        )
    context = {**_context(appointment, token, rules), "week": week, "error": error}
    return page(request, "online/move.html", context, status=400 if error else 200)


# --- A waitlist offer -------------------------------------------------------------------


@public_page
@require_http_methods(["GET", "POST"])
def offer(request: HttpRequest, token: str) -> HttpResponse:
    """A freed time held for the patient: take it or pass."""
    current = offer_for_link(token)
    if current is None:
        return not_found(request, what="offer")
    use_patient_language(request, current.entry.patient.preferred_language)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "take":
                accept_offer(offer=current, via=AppointmentChange.Via.ONLINE)
                messages.success(request, _("This time is yours: your appointment is booked."))
            elif action == "pass":
                decline_offer(offer=current)
                messages.info(request, _("You passed on this time. You are still on the waitlist."))
            else:
                messages.error(request, _("Choose whether to take this time."))
        except OfferGone as gone:
            messages.error(request, gone.message)
        except DomainError as refusal:
            messages.error(request, refusal.message)
        return redirect("online:offer", token=token)
    status = current.status
    is_open = status == WaitlistOffer.Status.OPEN and current.expires_at > timezone.now()
    context = {
        "offer": current,
        "appointment": current.hold,
        "is_open": is_open,
        "is_taken": status == WaitlistOffer.Status.ACCEPTED,
        "is_cancelled": current.hold.status == AppointmentStatus.CANCELLED,
        "is_passed": status == WaitlistOffer.Status.DECLINED,
        "still_waiting": current.entry.status == WaitlistEntry.Status.WAITING,
        "clinic_address": settings.CLINIC_ADDRESS,
        "clinic_phone": settings.CLINIC_PHONE,
        "directions": OnlineRules.current().directions,
    }
    return page(request, "online/offer.html", context)
