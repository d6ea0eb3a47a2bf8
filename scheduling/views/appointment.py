"""One appointment: its page with its history, and the quick actions (confirm, check
in, undo a check-in, no-show) from that page or the day view's cards. Cancelling,
which needs a reason, is views.cancel."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View

from clinic.kernel.http import is_htmx
from clinic.kernel.users import staff_user

from .. import services
from ..actions import listed_buttons
from ..cards import card_of
from ..exceptions import SchedulingError
from ..forms import CancelReasonForm
from ..models import Appointment
from ..selectors import appointment_detail, appointments_visible_to
from .common import describe, visible_appointment


class AppointmentDetailView(PermissionRequiredMixin, View):
    permission_required = "scheduling.view_appointment"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        appointment = visible_appointment(request, pk)
        buttons = listed_buttons(
            appointment.offered_actions,
            url=appointment.get_absolute_url(),
            patient_name=appointment.patient.full_name,
        )
        return render(
            request,
            "scheduling/appointment_detail.html",
            {
                "appointment": appointment,
                "buttons": buttons,
                "cancel_reasons": CancelReasonForm.COMMON_REASONS,
            },
        )


# Each action's service and what the page says once it is done. Offered as
# models.offered_actions says; the buttons of the newer ones are in actions.py.
QUICK_ACTIONS: dict[str, tuple[Callable[..., Appointment], str | Promise]] = {
    "confirm": (services.confirm_appointment, _("Confirmed")),
    "check-in": (services.check_in, _("Checked in")),
    "undo-check-in": (services.undo_check_in, _("Check-in undone")),
    "no-show": (services.mark_no_show, _("Marked as a no-show")),
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
        error = None
        try:
            appointment = service(appointment=appointment, by=staff_user(request))
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
            messages.success(
                request,
                gettext("%(done)s: %(appointment)s.")
                % {"done": done, "appointment": describe(appointment)},
            )
        next_url = request.POST.get("next", "")
        if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            return redirect(next_url)
        return redirect("scheduling:detail", pk=appointment.pk)
