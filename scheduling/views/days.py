"""The calendar pages: reception's day (every doctor side by side on a time grid),
one doctor's week, and the doctor's own day with their queue."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from clinic.kernel.http import is_htmx
from clinic.kernel.polls import polled
from clinic.kernel.users import staff_user
from doctors.models import Doctor

from ..calendar import build_day_grid, build_week_grid
from ..forms import CancelReasonForm
from ..selectors import day_schedule, doctor_day, doctor_day_marker, week_schedule
from .common import day_navigation, requested_day


class DayView(PermissionRequiredMixin, TemplateView):
    """Reception's day: every doctor side by side on a time grid."""

    permission_required = "scheduling.change_appointment"
    template_name = "scheduling/day.html"

    def get_context_data(self, **kwargs):
        day = requested_day(self.request)
        grid = build_day_grid(day, day_schedule(day=day))
        return super().get_context_data(
            grid=grid, cancel_form=CancelReasonForm(), **day_navigation(day), **kwargs
        )


def my_day_marker(request: HttpRequest) -> object:
    """The poll's marker (every 20 s, clinic.kernel.polls): the day asked for, whether
    the list offers "Start session", and the day's shown columns. The full page gets
    no ETag: only its fragment is polled."""
    if not is_htmx(request):
        return None
    user = staff_user(request)
    day = requested_day(request)
    return (
        day,
        user.has_perm("sessions_app.change_session"),
        doctor_day_marker(user=user, day=day),
    )


@method_decorator(
    polled(
        my_day_marker,
        templates=[
            "scheduling/partials/my_day_list.html",
            "scheduling/partials/status_badge.html",
        ],
    ),
    name="get",
)
class MyDayView(PermissionRequiredMixin, TemplateView):
    """The doctor's own day: their appointments, and who has arrived. Its fragment is
    polled; an unchanged poll gets 304 (my_day_marker)."""

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


class WeekView(PermissionRequiredMixin, TemplateView):
    """One doctor's week, a column per day, with the same cards and actions as the
    day view: /schedule/week/?doctor=<id>&date=<any day of the week>."""

    permission_required = "scheduling.change_appointment"
    template_name = "scheduling/week.html"

    def get_context_data(self, **kwargs):
        day = requested_day(self.request)
        first_day = day - timedelta(days=day.weekday())
        doctors = list(Doctor.objects.active().order_by("family_name", "given_name", "pk"))
        doctor = requested_doctor(self.request, doctors)
        grid = None
        if doctor is not None:
            grid = build_week_grid(first_day, week_schedule(doctor=doctor, first_day=first_day))
        return super().get_context_data(
            day=day,
            doctor=doctor,
            doctors=doctors,
            grid=grid,
            first_day=first_day,
            last_day=first_day + timedelta(days=6),
            previous_week=first_day - timedelta(days=7),
            next_week=first_day + timedelta(days=7),
            today=timezone.localdate(),
            cancel_form=CancelReasonForm(),
            **kwargs,
        )


def requested_doctor(request: HttpRequest, doctors: list[Doctor]) -> Doctor | None:
    """The doctor asked for in ?doctor=<id>: one of `doctors` (the active ones) or,
    for the record of a doctor who has left, any other; the first active doctor when
    none is asked for. An id that names nobody says so and shows the first."""
    asked = request.GET.get("doctor", "").strip()
    if asked.isdigit() and len(asked) < 19:
        found = next((d for d in doctors if d.pk == int(asked)), None)
        found = found or Doctor.objects.filter(pk=int(asked)).first()
        if found is not None:
            return found
    if asked:
        messages.warning(request, _("No such doctor; showing the first."))
    return doctors[0] if doctors else None
