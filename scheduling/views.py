"""Reception's calendar and booking pages, and the doctor's day. Views parse input,
call one service or selector, and render; the rules live in services.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from clinic.kernel.dates import validate_schedule_date
from clinic.kernel.http import is_htmx
from clinic.kernel.users import staff_user
from doctors.models import Doctor
from patients.models import Patient
from patients.selectors import search_patients

from . import services
from .calendar import build_day_grid
from .cards import card_of
from .exceptions import SchedulingError
from .forms import (
    BookingForm,
    CancelForm,
    RescheduleForm,
    SlotSearchForm,
    slot_value,
)
from .models import Appointment, Service
from .selectors import (
    appointment_detail,
    appointments_visible_to,
    day_schedule,
    doctor_day,
    free_slots,
)


def requested_day(request: HttpRequest) -> date:
    """The day asked for in ?date=YYYY-MM-DD; today (in the clinic) when absent. A
    date that cannot be read, or too far from today to be a schedule anyone keeps,
    shows today with a message saying so (a person typed it, or an old bookmark)."""
    asked = request.GET.get("date", "").strip()
    if not asked:
        return timezone.localdate()
    try:
        day = date.fromisoformat(asked)
        validate_schedule_date(day)
    except ValueError:
        problem = _("“%(date)s” is not a date (YYYY-MM-DD).") % {"date": asked[:40]}
    except ValidationError as error:
        problem = error.messages[0]
    else:
        return day
    # Said on the page, not on its background refreshes (which would pile it up).
    if not is_htmx(request):
        messages.warning(request, _("%(problem)s Showing today.") % {"problem": problem})
    return timezone.localdate()


def day_navigation(day: date) -> dict[str, date]:
    return {
        "day": day,
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "today": timezone.localdate(),
    }


class DayView(PermissionRequiredMixin, TemplateView):
    """Reception's day: every doctor side by side on a time grid."""

    permission_required = "scheduling.change_appointment"
    template_name = "scheduling/day.html"

    def get_context_data(self, **kwargs):
        day = requested_day(self.request)
        grid = build_day_grid(day, day_schedule(day=day))
        return super().get_context_data(grid=grid, **day_navigation(day), **kwargs)


class BookingView(PermissionRequiredMixin, View):
    """Pick the patient, the service, a doctor or any, see the free times, book."""

    permission_required = "scheduling.add_appointment"

    def get(self, request: HttpRequest) -> HttpResponse:
        search = SlotSearchForm(
            request.GET if "service" in request.GET else None,
            initial={
                "service": Service.objects.active().first(),
                "date": timezone.localdate(),
            },
        )
        return self.render_page(request, search, booking_form=BookingForm())

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
                messages.success(request, f"Booked: {describe(appointment)}.")
                return redirect("scheduling:detail", pk=appointment.pk)
        return self.render_page(request, SlotSearchForm(request.POST), booking_form=form)

    def render_page(self, request, search: SlotSearchForm, booking_form) -> HttpResponse:
        patient = chosen_patient(request)
        context = {
            "search": search,
            "booking_form": booking_form,
            "patient": patient,
            "slots": slots_for(search, patient),
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


def describe(appointment: Appointment) -> str:
    starts = timezone.localtime(appointment.starts_at)
    return f"{appointment.patient} with {appointment.doctor} on {starts:%a %d %b} at {starts:%H:%M}"


def visible_appointment(request: HttpRequest, pk: int) -> Appointment:
    if not appointments_visible_to(staff_user(request)).filter(pk=pk).exists():
        raise Http404("No such appointment.")
    return appointment_detail(pk=pk)


class AppointmentDetailView(PermissionRequiredMixin, View):
    permission_required = "scheduling.view_appointment"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = visible_appointment(request, pk)
        return render(
            request,
            "scheduling/appointment_detail.html",
            {"appointment": appointment, "cancel_form": CancelForm()},
        )


# Each action's service and what the page says once it is done.
QUICK_ACTIONS: dict[str, tuple[Callable[..., Appointment], str]] = {
    "confirm": (services.confirm_appointment, "Confirmed"),
    "check-in": (services.check_in, "Checked in"),
    "no-show": (services.mark_no_show, "Marked as a no-show"),
    "cancel": (services.cancel_appointment, "Cancelled"),
}


class AppointmentActionView(PermissionRequiredMixin, View):
    """A quick action from the day view or the detail page. With htmx the answer is
    the appointment's card, refreshed in place; without, a redirect and a message."""

    permission_required = "scheduling.change_appointment"

    def post(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        if action not in QUICK_ACTIONS:
            raise Http404("No such action.")
        appointment = get_object_or_404(appointments_visible_to(staff_user(request)), pk=pk)
        service, done = QUICK_ACTIONS[action]
        extra = {}
        if action == "cancel":
            extra["reason"] = request.POST.get("reason") or request.headers.get("HX-Prompt", "")
        error = None
        try:
            appointment = service(appointment=appointment, by=staff_user(request), **extra)
        except SchedulingError as refusal:
            error = refusal.message
        if is_htmx(request):
            return render(
                request,
                "scheduling/partials/appointment_card.html",
                {"card": card_of(appointment_detail(pk=appointment.pk)), "error": error},
            )
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"{done}: {describe(appointment)}.")
        next_url = request.POST.get("next", "")
        if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            return redirect(next_url)
        return redirect("scheduling:detail", pk=appointment.pk)


class RescheduleView(PermissionRequiredMixin, View):
    permission_required = "scheduling.change_appointment"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = get_object_or_404(appointments_visible_to(staff_user(request)), pk=pk)
        form = RescheduleForm(
            request.GET if "date" in request.GET else None,
            initial={"date": timezone.localdate(appointment.starts_at)},
        )
        return self.render_page(request, appointment, form)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = get_object_or_404(appointments_visible_to(staff_user(request)), pk=pk)
        form = RescheduleForm(request.POST)
        if form.is_valid():
            try:
                appointment = services.reschedule_appointment(
                    appointment=appointment,
                    starts_at=form.cleaned_data["starts_at"],
                    by=staff_user(request),
                )
            except SchedulingError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Moved: {describe(appointment)}.")
                return redirect("scheduling:detail", pk=appointment.pk)
        return self.render_page(request, appointment, form)

    def render_page(self, request, appointment: Appointment, form: RescheduleForm):
        day = form.data.get("date") if form.is_bound else form.initial["date"]
        search = SlotSearchForm(
            {"service": appointment.service_id, "doctor": appointment.doctor_id, "date": day}
        )
        context = {
            "appointment": appointment,
            "form": form,
            "slots": slots_for(search, appointment.patient, ignoring=appointment),
            "search": search,
        }
        template = (
            "scheduling/partials/slots.html" if is_htmx(request) else "scheduling/reschedule.html"
        )
        return render(request, template, context)


class MyDayView(PermissionRequiredMixin, TemplateView):
    """The doctor's own day: their appointments, and who has arrived."""

    permission_required = "scheduling.view_own_day"
    template_name = "scheduling/my_day.html"

    def get_template_names(self):
        if is_htmx(self.request):
            return ["scheduling/partials/my_day_list.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        doctor = Doctor.objects.filter(user=staff_user(self.request)).first()
        if doctor is None:
            raise PermissionDenied("Your login is not linked to a doctor.")
        day = requested_day(self.request)
        appointments = doctor_day(doctor=doctor, day=day)
        return super().get_context_data(
            doctor=doctor,
            appointments=appointments,
            arrived=[appointment for appointment in appointments if appointment.is_waiting],
            **day_navigation(day),
            **kwargs,
        )
