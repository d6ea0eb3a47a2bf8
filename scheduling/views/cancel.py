"""Cancelling an appointment with its reason: the dialog of the day and week views
posts here, and without JavaScript the card's Cancel link opens this page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View

from clinic.kernel.http import is_htmx
from clinic.kernel.users import staff_user

from .. import services
from ..cards import card_of
from ..exceptions import SchedulingError
from ..forms import CancelReasonForm
from ..models import Appointment
from ..selectors import appointment_detail, appointments_visible_to
from .common import describe


class CancelView(PermissionRequiredMixin, View):
    permission_required = "scheduling.change_appointment"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = self.appointment(request, pk)
        return self.render_page(request, appointment, CancelReasonForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = self.appointment(request, pk)
        form = CancelReasonForm(request.POST)
        if form.is_valid():
            try:
                appointment = services.cancel_appointment(
                    appointment=appointment,
                    reason=form.cleaned_data["full_reason"],
                    by=staff_user(request),
                )
            except SchedulingError as refusal:
                form.add_error(None, refusal.message)
            else:
                if is_htmx(request):
                    return self.card(request, appointment, error=None)
                messages.success(
                    request,
                    _("Cancelled: %(appointment)s.") % {"appointment": describe(appointment)},
                )
                return redirect(self.next_url(request, appointment))
        if is_htmx(request):
            return self.card(request, appointment, error=" ".join(_errors(form)))
        return self.render_page(request, appointment, form)

    def appointment(self, request: HttpRequest, pk: int) -> Appointment:
        return get_object_or_404(
            appointments_visible_to(staff_user(request)).select_related("doctor", "patient"), pk=pk
        )

    def render_page(
        self, request: HttpRequest, appointment: Appointment, form: CancelReasonForm
    ) -> HttpResponse:
        return render(
            request,
            "scheduling/cancel.html",
            {
                "appointment": appointment,
                "form": form,
                "next": self.next_url(request, appointment),
                "description": describe(appointment),
            },
        )

    def card(self, request: HttpRequest, appointment: Appointment, error: str | None):
        return render(
            request,
            "scheduling/partials/appointment_card.html",
            {"card": card_of(appointment_detail(pk=appointment.pk)), "error": error},
        )

    def next_url(self, request: HttpRequest, appointment: Appointment) -> str:
        """Back where the person came from (a page of this site), else the day."""
        asked = request.POST.get("next") or request.GET.get("next", "")
        if url_has_allowed_host_and_scheme(
            asked, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return asked
        day = timezone.localdate(appointment.starts_at)
        return f"{reverse('scheduling:day')}?date={day.isoformat()}"


def _errors(form: CancelReasonForm) -> list[str]:
    return [str(message) for messages_ in form.errors.values() for message in messages_]
