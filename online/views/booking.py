"""Booking online, step by step: the clinic and its services, a week of free times,
who is booking, the texted code, and the booking (or a place on the waitlist).

Each step keeps what was chosen in the session (views.state) and checks it again
when it is used; the rules are the services' (online.services, online.waitlist)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.kernel.errors import DomainError
from doctors.models import Doctor
from scheduling.models import Appointment, Service

from ..forms import CodeForm, DetailsForm, WaitlistForm
from ..models import OnlineRules, TimesOfDay, WaitlistEntry
from ..services import (
    OnlineError,
    TimeTaken,
    Visitor,
    book_for_visitor,
    join_waitlist_for_visitor,
    nearest_free_times,
    normalised_phone,
    online_doctors,
    online_services,
    request_code,
    verify_code,
)
from . import state, times
from .public import CHECKS, CODES, NEW_CODES, not_found, page, public_page


def _service(code: str) -> Service | None:
    return online_services().filter(code=code).first()


def _doctors(service: Service) -> list[Doctor]:
    return list(online_doctors(service).order_by("family_name", "given_name", "pk"))


def _language(request: HttpRequest) -> str:
    return getattr(request, "LANGUAGE_CODE", "") or ""


def _clinic() -> dict[str, object]:
    rules = OnlineRules.current()
    return {
        "clinic_address": settings.CLINIC_ADDRESS,
        "clinic_phone": settings.CLINIC_PHONE,
        "opening_hours": rules.opening_hours,
        "directions": rules.directions,
    }


def _start_again(request: HttpRequest, service: Service) -> HttpResponse:
    """A step opened without the steps before it (a bookmark, an old tab, a session
    that ended): say so and go back to the times. Back after booking is no such
    step: it shows what was booked."""
    finished = state.finished(request, service)
    if finished is not None:
        return redirect(f"online:{finished}", code=service.code)
    return page(request, "online/start_again.html", {"service": service}, status=400)


# --- The clinic and its services ------------------------------------------------


@public_page
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    services = list(online_services())
    return page(
        request,
        "online/home.html",
        {**_clinic(), "services": services, "currency": settings.CLINIC_CURRENCY},
    )


# --- A week of free times ---------------------------------------------------------


@public_page
@require_http_methods(["GET", "POST"])
def service_times(request: HttpRequest, code: str) -> HttpResponse:
    """The week strip for one service, with a doctor or any; choosing a time keeps
    it in the session and goes on to the details."""
    service = _service(code)
    if service is None:
        return not_found(request, what="service")
    rules = OnlineRules.current()
    doctors = _doctors(service)
    doctor, doctor_unknown = _doctor_asked(request.GET.get("doctor"), doctors)
    error = ""
    if request.method == "POST":
        chosen = times.parse_value(request.POST.get("time", ""))
        by_pk = {candidate.pk: candidate for candidate in doctors}
        if chosen is None:
            error = _("Choose one of the times below.")
        elif chosen[0] not in by_pk:
            error = _("This doctor cannot be booked online. Please choose another time.")
        else:
            doctor_pk, starts_at = chosen
            error = times.refusal(
                service=service, doctor=by_pk[doctor_pk], starts_at=starts_at, rules=rules
            )
            if not error:
                state.choose_time(
                    request,
                    service=service,
                    doctor_pk=doctor_pk,
                    starts_at=starts_at,
                    any_doctor=doctor is None,
                )
                return redirect("online:details", code=service.code)
    first_day = times.first_day_from(request.GET.get("from"), rules)
    week = times.week(service=service, doctor=doctor, first_day=first_day, rules=rules)
    context = {
        "service": service,
        "doctors": doctors,
        "doctor": doctor,
        "doctor_unknown": doctor_unknown,
        "doctor_query": f"&doctor={doctor.pk}" if doctor else "",
        "week": week,
        "error": error,
        "currency": settings.CLINIC_CURRENCY,
    }
    return page(request, "online/service.html", context, status=400 if error else 200)


def _doctor_asked(raw: str | None, doctors: list[Doctor]) -> tuple[Doctor | None, bool]:
    """The doctor the page was asked for (None: any), and whether the one asked for
    is unknown (then any doctor is shown, and the page says so)."""
    if raw in (None, "", "any"):
        return None, False
    for doctor in doctors:
        if str(doctor.pk) == raw:
            return doctor, False
    return None, True


# --- The waitlist wish ---------------------------------------------------------------


@public_page
@require_http_methods(["GET", "POST"])
def waitlist(request: HttpRequest, code: str) -> HttpResponse:
    """When the patient could come ("no time suits me"), then the same details and
    code as a booking."""
    service = _service(code)
    if service is None:
        return not_found(request, what="service")
    form = WaitlistForm(request.POST or None, doctors=online_doctors(service))
    if request.method == "POST" and form.is_valid():
        state.choose_wish(request, service=service, wish=form.cleaned_data)
        return redirect("online:details", code=service.code)
    return page(
        request,
        "online/waitlist.html",
        {"service": service, "form": form},
        status=400 if form.errors else 200,
    )


# --- Who is booking -----------------------------------------------------------------


@public_page(limits=CODES)
@require_http_methods(["GET", "POST"])
def details(request: HttpRequest, code: str) -> HttpResponse:
    """Name, date of birth and phone; a code is texted to the phone. The answer is the
    same whoever the phone belongs to (and for a robot, which is texted nothing)."""
    service = _service(code)
    if service is None:
        return not_found(request, what="service")
    intent = state.intent(request, service)
    if intent is None:
        return _start_again(request, service)
    form = DetailsForm(request.POST or None, initial=state.details(request, service))
    if request.method == "POST":
        if form.is_robot:
            phone = normalised_phone(request.POST.get("phone", ""))
            state.remember_robot(request, service=service, phone=phone)
            return redirect("online:verify", code=service.code)
        if form.is_valid():
            state.remember_visitor(request, service=service, details=form.cleaned_data)
            visitor = state.visitor(request, service, language=_language(request))
            if visitor is not None and state.is_verified(request, visitor.phone):
                # The same phone proved a moment ago (another booking): no new code.
                return _complete(request, service, intent, visitor)
            try:
                request_code(phone=form.cleaned_data["phone"])
            except OnlineError as refusal:
                # Too many codes for this phone: an earlier one may still be valid.
                messages.warning(request, refusal.message)
            return redirect("online:verify", code=service.code)
    context = {"service": service, "form": form, **_summary(service, intent)}
    return page(request, "online/details.html", context, status=400 if form.errors else 200)


def _summary(service: Service, intent: dict) -> dict[str, object]:
    """What is being booked, for the top of the steps' pages."""
    doctor = None
    if intent.get("doctor") is not None:
        doctor = online_doctors(service).filter(pk=intent["doctor"]).first()
    return {
        "intent": intent,
        "waiting": intent["purpose"] == state.WAIT,
        "chosen_doctor": doctor,
        "times_of_day": TimesOfDay(intent["times_of_day"]).label
        if intent.get("times_of_day") in TimesOfDay.values
        else "",
    }


# --- The code ---------------------------------------------------------------------------


@public_page(limits=CHECKS)
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, code: str) -> HttpResponse:
    """The 6-digit code; once it is right, the booking is made (or the place on the
    waitlist taken)."""
    service = _service(code)
    if service is None:
        return not_found(request, what="service")
    intent = state.intent(request, service)
    if intent is None or not state.has_visitor(request, service):
        return _start_again(request, service)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and request.POST.get("choice") != state.choice_mark(request):
        # Opened before the visitor chose again in another window: book nothing
        # this page does not show, and show what would be booked now.
        messages.warning(
            request,
            _("You changed your choice in another window. Check it below and book again."),
        )
        return redirect("online:verify", code=service.code)
    if request.method == "POST" and form.is_valid():
        visitor = state.visitor(request, service, language=_language(request))
        if visitor is None:  # The honeypot was filled: no code was sent, none is right.
            form.add_error("code", _("That code is not right. Check the text and try again."))
        else:
            try:
                verify_code(phone=visitor.phone, code=form.cleaned_data["code"])
            except OnlineError as refusal:
                form.add_error("code", refusal.message)
            else:
                state.mark_verified(request, visitor.phone)
                return _complete(request, service, intent, visitor)
    context = {
        "service": service,
        "form": form,
        "choice": state.choice_mark(request),
        "phone_end": state.phone(request)[-2:],
        **_summary(service, intent),
    }
    return page(request, "online/verify.html", context, status=400 if form.errors else 200)


@public_page(limits=NEW_CODES)
@require_POST
def new_code(request: HttpRequest, code: str) -> HttpResponse:
    """Text another code (at most three an hour for a phone)."""
    service = _service(code)
    if service is None:
        return not_found(request, what="service")
    if state.intent(request, service) is None or not state.has_visitor(request, service):
        return _start_again(request, service)
    phone = state.phone(request)
    try:
        if not state.is_robot(request) and phone:
            request_code(phone=phone)
    except OnlineError as refusal:
        messages.warning(request, refusal.message)
    else:
        messages.success(request, _("We sent a new code. It replaces the ones before."))
    return redirect("online:verify", code=service.code)


def _complete(request: HttpRequest, service: Service, intent: dict, visitor: Visitor):
    if intent["purpose"] == state.WAIT:
        return _join(request, service, intent, visitor)
    return _book(request, service, intent, visitor)


def _book(request: HttpRequest, service: Service, intent: dict, visitor: Visitor) -> HttpResponse:
    rules = OnlineRules.current()
    doctor = online_doctors(service).filter(pk=intent["doctor"]).first()
    starts_at: datetime = intent["starts_at"]
    if doctor is None:
        return _refused(request, service, _("This doctor cannot be booked online."))
    try:
        appointment = book_for_visitor(
            visitor, service=service, doctor=doctor, starts_at=starts_at, rules=rules
        )
    except TimeTaken as taken:
        nearest = nearest_free_times(
            service=service,
            doctor=None if intent.get("any_doctor") else doctor,
            around=starts_at,
            rules=rules,
        )
        context = {
            "service": service,
            "message": taken.message,
            "times": [
                times.Time(times.value_of(slot), slot.starts_at, slot.doctor) for slot in nearest
            ],
        }
        return page(request, "online/taken.html", context, status=409)
    except DomainError as refusal:
        return _refused(request, service, refusal.message)
    state.finish_booking(request, service=service, appointment_pk=appointment.pk)
    return redirect("online:booked", code=service.code)


def _join(request: HttpRequest, service: Service, intent: dict, visitor: Visitor) -> HttpResponse:
    rules = OnlineRules.current()
    doctor = None
    if intent.get("doctor") is not None:
        doctor = online_doctors(service).filter(pk=intent["doctor"]).first()
        if doctor is None:
            return _refused(request, service, _("This doctor cannot be booked online."))
    try:
        entry = join_waitlist_for_visitor(
            visitor,
            service=service,
            doctor=doctor,
            date_from=intent["date_from"],
            date_to=intent["date_to"],
            times_of_day=intent["times_of_day"],
            rules=rules,
        )
    except DomainError as refusal:
        return _refused(request, service, refusal.message)
    state.finish_joining(request, service=service, entry_pk=entry.pk)
    return redirect("online:joined", code=service.code)


def _refused(request: HttpRequest, service: Service, message: str) -> HttpResponse:
    return page(
        request,
        "online/refused.html",
        {"service": service, "message": message, "clinic_phone": settings.CLINIC_PHONE},
        status=400,
    )


@public_page
@require_POST
def another_time(request: HttpRequest, code: str) -> HttpResponse:
    """After "just taken": book one of the nearest times, with the phone verified a
    moment ago (no new code while it stays verified)."""
    service = _service(code)
    if service is None:
        return not_found(request, what="service")
    intent = state.intent(request, service)
    visitor = state.visitor(request, service, language=_language(request))
    if intent is None or intent["purpose"] != state.BOOK or visitor is None:
        return _start_again(request, service)
    if not state.is_verified(request, visitor.phone):
        messages.warning(request, _("Please confirm your phone again with a new code."))
        return redirect("online:verify", code=service.code)
    rules = OnlineRules.current()
    chosen = times.parse_value(request.POST.get("time", ""))
    doctors = {doctor.pk: doctor for doctor in _doctors(service)}
    if chosen is None or chosen[0] not in doctors:
        return _refused(request, service, _("Choose one of the times offered."))
    doctor_pk, starts_at = chosen
    refusal = times.refusal(
        service=service, doctor=doctors[doctor_pk], starts_at=starts_at, rules=rules
    )
    if refusal:
        return _refused(request, service, refusal)
    state.choose_time(
        request,
        service=service,
        doctor_pk=doctor_pk,
        starts_at=starts_at,
        any_doctor=bool(intent.get("any_doctor")),
    )
    intent = state.intent(request, service) or intent
    return _book(request, service, intent, visitor)


# --- Done -----------------------------------------------------------------------------------


@public_page
@require_GET
def booked(request: HttpRequest, code: str) -> HttpResponse:
    if _service(code) is None:
        return not_found(request, what="service")
    pk = state.booked(request)
    appointment = (
        Appointment.objects.select_related("doctor", "service").filter(pk=pk).first()
        if pk is not None
        else None
    )
    if appointment is None:
        return not_found(request, what="booking")
    return page(request, "online/booked.html", {"appointment": appointment, **_clinic()})


@public_page
@require_GET
def joined(request: HttpRequest, code: str) -> HttpResponse:
    if _service(code) is None:
        return not_found(request, what="service")
    pk = state.joined(request)
    entry = (
        WaitlistEntry.objects.select_related("doctor", "service").filter(pk=pk).first()
        if pk is not None
        else None
    )
    if entry is None:
        return not_found(request, what="waitlist")
    return page(request, "online/joined.html", {"entry": entry, **_clinic()})
