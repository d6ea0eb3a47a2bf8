"""The walk-in: the patient is at the desk without an appointment. Reception finds
or registers them, picks the service and a doctor or any free doctor, sees when and
with whom they will be seen, and books and checks them in with one click."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from clinic.kernel.http import is_htmx
from clinic.kernel.users import staff_user
from patients.models import Patient
from patients.selectors import search_patients

from .. import services
from ..exceptions import SchedulingError
from ..forms import WalkInForm
from ..models import Appointment, Service
from ..selectors import patient_day, walk_in_slot
from .booking import chosen_patient


class WalkInView(PermissionRequiredMixin, View):
    # It books and checks in: reception's two permissions.
    permission_required = ("scheduling.add_appointment", "scheduling.change_appointment")

    def get(self, request: HttpRequest) -> HttpResponse:
        if "service" in request.GET:
            form = WalkInForm(request.GET)
            # The form has read the patient (or found none).
            patient = form.cleaned_data.get("patient") if form.is_valid() else None
            patient = patient or chosen_patient(request)
        else:
            patient = chosen_patient(request)
            form = WalkInForm(initial={"service": Service.objects.active().first()})
        return self.render_page(request, form, patient)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = WalkInForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                appointment = services.book_walk_in(
                    patient=data["patient"],
                    service=data["service"],
                    doctor=data["doctor"],
                    by=staff_user(request),
                )
            except SchedulingError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, walked_in(appointment))
                return redirect("scheduling:day")
        return self.render_page(request, form, chosen_patient(request))

    def render_page(
        self, request: HttpRequest, form: WalkInForm, patient: Patient | None
    ) -> HttpResponse:
        query = request.GET.get("q", "").strip()
        context: dict[str, Any] = {
            "form": form,
            "patient": patient,
            "query": query,
            **offer_for(form, patient),
        }
        if patient is None and query:
            context["matches"] = search_patients(query=query)[:10]
        if patient is not None:
            context["booked_today"] = patient_day(patient=patient, day=timezone.localdate())
        template = (
            "scheduling/partials/walk_in_offer.html"
            if is_htmx(request)
            else "scheduling/walk_in.html"
        )
        return render(request, template, context)


def offer_for(form: WalkInForm, patient: Patient | None) -> dict[str, Any]:
    """When and with whom the patient would be seen, as the page shows it before the
    click: the slot, or why there is none today (in the service's own words)."""
    chosen: Mapping[str, Any] = form.initial
    if form.is_bound:
        form.is_valid()  # Reads what was chosen; the page shows any errors.
        chosen = form.cleaned_data
    service, doctor = chosen.get("service"), chosen.get("doctor")
    if patient is None or service is None:
        return {}
    slot = walk_in_slot(service=service, patient=patient, doctor=doctor)
    if slot is not None:
        return {"slot": slot, "service": service, "wait": wait_until(slot.starts_at)}
    refusal = services.no_walk_in_today(service=service, patient=patient, doctor=doctor)
    return {"unavailable": refusal}


def wait_until(starts_at: datetime) -> str:
    minutes = math.ceil((starts_at - timezone.now()) / timedelta(minutes=1))
    if minutes <= 1:
        return _("Now.")
    return ngettext("In %(minutes)s minute.", "In %(minutes)s minutes.", minutes) % {
        "minutes": minutes
    }


def walked_in(appointment: Appointment) -> str:
    starts = timezone.localtime(appointment.starts_at)
    return _("Walk-in checked in: %(patient)s with %(doctor)s at %(time)s.") % {
        "patient": appointment.patient.full_name,
        "doctor": appointment.doctor,
        "time": f"{starts:%H:%M}",
    }
