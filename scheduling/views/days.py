"""The calendar pages: reception's day (every doctor side by side on a time grid)
and the doctor's own day with their queue."""

from __future__ import annotations

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.views.generic import TemplateView

from clinic.kernel.http import is_htmx
from clinic.kernel.users import staff_user
from doctors.models import Doctor

from ..calendar import build_day_grid
from ..selectors import day_schedule, doctor_day
from .common import day_navigation, requested_day


class DayView(PermissionRequiredMixin, TemplateView):
    """Reception's day: every doctor side by side on a time grid."""

    permission_required = "scheduling.change_appointment"
    template_name = "scheduling/day.html"

    def get_context_data(self, **kwargs):
        day = requested_day(self.request)
        grid = build_day_grid(day, day_schedule(day=day))
        return super().get_context_data(grid=grid, **day_navigation(day), **kwargs)


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
