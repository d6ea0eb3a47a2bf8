"""The rebooking list: appointments the manager's change of a doctor's timetable
left without the doctor (scheduling.rebooking). Reception texts the patient that
the clinic will call, moves the appointment, or cancels it; moving or cancelling
takes it off the list."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from clinic.kernel.dates import format_day, format_time_of_day
from clinic.kernel.users import staff_user

from ..exceptions import SchedulingError
from ..forms import CancelReasonForm
from ..models import RebookingFlag
from ..rebooking import open_flags, promise_call
from ..selectors import appointments_visible_to

# Reception and managers: those who move and cancel appointments.
PERMISSION = "scheduling.change_appointment"


class RebookingListView(PermissionRequiredMixin, View):
    permission_required = PERMISSION

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request,
            "scheduling/rebooking.html",
            {"flags": list(open_flags()), "cancel_reasons": CancelReasonForm.COMMON_REASONS},
        )


class PromiseCallView(PermissionRequiredMixin, View):
    """ "Text the patient": the clinic will call them to rebook. Once per flag; a
    second click (or a colleague's) says when it went and sends nothing."""

    permission_required = PERMISSION

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = staff_user(request)
        flag = get_object_or_404(
            RebookingFlag.objects.filter(appointment__in=appointments_visible_to(user)), pk=pk
        )
        try:
            flag, sent = promise_call(flag=flag, by=user)
        except SchedulingError as refusal:
            messages.error(request, refusal.message)
            return redirect("scheduling:rebooking")
        names = {"patient": flag.appointment.patient.full_name}
        if sent:
            messages.success(
                request, _("Text queued to %(patient)s: the clinic will call to rebook.") % names
            )
        else:
            told = timezone.localtime(flag.patient_told_at)
            names["time"] = f"{format_day(told, 'D d M')} {format_time_of_day(told)}"
            messages.info(
                request,
                _("%(patient)s was already texted at %(time)s; nothing sent again.") % names,
            )
        return redirect("scheduling:rebooking")
