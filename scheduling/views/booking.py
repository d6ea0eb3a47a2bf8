"""Booking and moving appointments: find the patient, pick the service and a doctor
(or any), see the free times, book; or move an appointment to another free time."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from clinic.kernel.http import is_htmx
from clinic.kernel.users import staff_user
from doctors.models import Doctor
from patients.models import Patient
from patients.selectors import search_patients

from .. import services
from ..exceptions import SchedulingError
from ..forms import SHOW_DAY, SHOW_NEXT, BookingForm, RescheduleForm, SlotSearchForm, slot_value
from ..models import Appointment, Service
from ..selectors import (
    NEXT_AVAILABLE_HORIZON_DAYS,
    Slot,
    appointments_visible_to,
    free_slots,
    next_free_slots,
)
from .common import describe
from .prefill import BookingPrefill, booking_prefill


class BookingView(PermissionRequiredMixin, View):
    """Pick the patient, the service, a doctor or any, see the free times, book."""

    permission_required = "scheduling.add_appointment"

    def get(self, request: HttpRequest) -> HttpResponse:
        # The day view's free time links here with its doctor, date and time.
        prefill = booking_prefill(request)
        search = SlotSearchForm(
            request.GET if "service" in request.GET else None,
            initial={
                "service": Service.objects.active().first(),
                "date": timezone.localdate(),
                "show": SHOW_DAY,
                **prefill.search_initial(),
            },
        )
        booking_form = BookingForm(initial=prefill.booking_initial())
        return self.render_page(request, search, booking_form=booking_form, prefill=prefill)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = BookingForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                appointment = services.book_appointment(
                    patient=data["patient"],
                    doctor=data["doctor"],
                    service=data["service"],
                    starts_at=data["starts_at"],
                    duration=data["duration"],
                    reason=data["reason"],
                    booked_by=staff_user(request),
                )
            except SchedulingError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request, _("Booked: %(appointment)s.") % {"appointment": describe(appointment)}
                )
                return redirect("scheduling:detail", pk=appointment.pk)
        return self.render_page(request, SlotSearchForm(request.POST), booking_form=form)

    def render_page(
        self, request, search: SlotSearchForm, booking_form, prefill: BookingPrefill | None = None
    ) -> HttpResponse:
        patient = chosen_patient(request)
        context = {
            "prefill": prefill or BookingPrefill(),
            "search": search,
            "booking_form": booking_form,
            "patient": patient,
            **free_times(search, patient),
            "query": request.GET.get("q", "").strip(),
        }
        if not patient and context["query"]:
            context["matches"] = search_patients(query=context["query"])[:10]
        template = "scheduling/partials/slots.html" if is_htmx(request) else "scheduling/book.html"
        return render(request, template, context)


def chosen_patient(request: HttpRequest) -> Patient | None:
    patient_id = request.POST.get("patient") or request.GET.get("patient")
    # An id past the database's range is no patient, not an error.
    if not patient_id or not str(patient_id).isdigit() or len(str(patient_id)) > 18:
        return None
    return Patient.objects.filter(pk=patient_id).first()


def free_times(
    search: SlotSearchForm, patient: Patient | None, ignoring: Appointment | None = None
) -> dict[str, Any]:
    """What the free-times partial shows for a search: the day's free slots by
    doctor (`slots`), or the next available ones by day (`next_slots`); None for
    the one not asked for, or both when the search is not (yet) valid."""
    shown: dict[str, Any] = {"slots": None, "next_slots": None}
    if not search.is_bound or not search.is_valid():
        return shown
    if search.cleaned_data["show"] == SHOW_NEXT:
        shown["next_slots"] = next_for(search, patient, ignoring)
        shown["horizon_days"] = NEXT_AVAILABLE_HORIZON_DAYS
    else:
        shown["slots"] = slots_for(search, patient, ignoring)
    return shown


def next_for(
    search: SlotSearchForm, patient: Patient | None, ignoring: Appointment | None
) -> list[tuple[date, list[tuple[str, datetime, Doctor]]]] | None:
    """The first free slots from the search's date on, grouped by day, each with its
    button's value, its local start and its doctor."""
    data = search.cleaned_data
    try:
        slots = next_free_slots(
            service=data["service"],
            doctor=data["doctor"],
            from_date=data["date"],
            patient=patient,
            ignoring=ignoring,
        )
    except SchedulingError as error:
        search.add_error(None, error.message)
        return None
    by_day: dict[date, list[tuple[str, datetime, Doctor]]] = {}
    for slot in slots:
        local = timezone.localtime(slot.starts_at)
        by_day.setdefault(local.date(), []).append((_button(slot), local, slot.doctor))
    return list(by_day.items())


def _button(slot: Slot) -> str:
    return slot_value(slot.doctor.pk, slot.starts_at)


def slots_for(search: SlotSearchForm, patient: Patient | None, ignoring=None):
    """Free slots for a valid search, grouped by doctor, with each button's value."""
    if not search.is_bound or not search.is_valid():
        return None
    data = search.cleaned_data
    try:
        slots = free_slots(
            service=data["service"],
            doctor=data["doctor"],
            date_from=data["date"],
            date_to=data["date"],
            patient=patient,
            ignoring=ignoring,
        )
    except SchedulingError as error:
        search.add_error(None, error.message)
        return None
    by_doctor: dict[Doctor, list] = {}
    for slot in slots:
        by_doctor.setdefault(slot.doctor, []).append(
            (slot_value(slot.doctor.pk, slot.starts_at), timezone.localtime(slot.starts_at))
        )
    return by_doctor


class RescheduleView(PermissionRequiredMixin, View):
    """Move an appointment: that day's free times or the next available ones, with
    its doctor, another doctor who offers the service, or any."""

    permission_required = "scheduling.change_appointment"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = get_object_or_404(appointments_visible_to(staff_user(request)), pk=pk)
        form = RescheduleForm(
            request.GET if "date" in request.GET else None,
            service=appointment.service,
            initial={
                "date": timezone.localdate(appointment.starts_at),
                "doctor": appointment.doctor_id,
                "show": SHOW_DAY,
            },
        )
        return self.render_page(request, appointment, form)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = get_object_or_404(appointments_visible_to(staff_user(request)), pk=pk)
        form = RescheduleForm(request.POST, service=appointment.service)
        if form.is_valid():
            try:
                appointment = services.reschedule_appointment(
                    appointment=appointment,
                    starts_at=form.cleaned_data["starts_at"],
                    doctor=form.cleaned_data["doctor"],
                    by=staff_user(request),
                )
            except SchedulingError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request, _("Moved: %(appointment)s.") % {"appointment": describe(appointment)}
                )
                return redirect("scheduling:detail", pk=appointment.pk)
        return self.render_page(request, appointment, form)

    def render_page(self, request, appointment: Appointment, form: RescheduleForm):
        if form.is_bound:
            chosen = {name: form.data.get(name, "") for name in ("date", "doctor", "show")}
        else:
            chosen = dict(form.initial)
        search = SlotSearchForm({"service": appointment.service_id, **chosen})
        context = {
            "appointment": appointment,
            # The partial enables its buttons for a patient, on the page and when
            # htmx asks for the partial alone.
            "patient": appointment.patient,
            "form": form,
            **free_times(search, appointment.patient, ignoring=appointment),
            "search": search,
        }
        template = (
            "scheduling/partials/slots.html" if is_htmx(request) else "scheduling/reschedule.html"
        )
        return render(request, template, context)
