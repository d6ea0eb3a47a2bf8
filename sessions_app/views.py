"""Into a session from the doctor's day: start it from the queue, or open the
session of an appointment. The session page itself (note, prescription, services,
"Complete and sign") is the consulting room, in records.views."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views import View

from clinic.kernel.errors import DomainError
from clinic.kernel.users import staff_user
from scheduling.selectors import appointments_visible_to

from . import services
from .selectors import sessions_visible_to


class StartSessionView(PermissionRequiredMixin, View):
    """ "Start session" on an arrived patient in the doctor's queue."""

    permission_required = "sessions_app.change_session"

    def post(self, request: HttpRequest, appointment_pk: int) -> HttpResponse:
        appointment = get_object_or_404(
            appointments_visible_to(staff_user(request)).filter(doctor__user=staff_user(request)),
            pk=appointment_pk,
        )
        try:
            session = services.open_and_start_session(
                appointment=appointment, by=staff_user(request)
            )
        except DomainError as refusal:
            messages.error(request, refusal.message)
            return redirect("scheduling:my_day")
        return redirect(session)


class AppointmentSessionView(PermissionRequiredMixin, View):
    """From an appointment (in the doctor's day) to its session's page."""

    permission_required = "sessions_app.view_session"

    def get(self, request: HttpRequest, appointment_pk: int) -> HttpResponse:
        session = get_object_or_404(
            sessions_visible_to(staff_user(request)), appointment_id=appointment_pk
        )
        return redirect(session)
