"""Scheduling's parts of other apps' pages. A page of an app below scheduling (the
patient's page) shows appointments by loading these tags in its template, so the
patients app never imports scheduling."""

from __future__ import annotations

from typing import Any

from django import template

from patients.models import Patient

from ..selectors import appointments_visible_to, patient_appointments

register = template.Library()


@register.inclusion_tag("scheduling/partials/patient_appointments.html", takes_context=True)
def patient_appointments_table(context: template.Context, patient: Patient) -> dict[str, Any]:
    """The patient's latest appointments that the signed-in user may open: the
    clinic's for reception, their own with this patient for a doctor."""
    user = context["request"].user
    if not user.has_perm("scheduling.view_appointment"):
        return {"appointments": None}
    visible = appointments_visible_to(user)
    return {"appointments": patient_appointments(patient=patient, within=visible)}
