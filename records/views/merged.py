"""A registration merged into another (patients.services.merge_patients) has no
chart of its own: its record, visits and documents are the kept patient's. Pages of
the chart asked for it send the user to the same page of the kept patient."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from patients.models import Patient


def to_kept_registration(request: HttpRequest, patient: Patient) -> HttpResponse | None:
    """The same page for the kept patient when `patient` was merged away, else None.
    Nothing posted to the merged-away registration is saved."""
    if patient.merged_into_id is None:
        return None
    messages.info(
        request,
        _("%(patient)s was merged into another registration: this is the kept one.")
        % {"patient": patient.full_name},
    )
    view_name = request.resolver_match.view_name if request.resolver_match else "records:chart"
    return redirect(view_name, patient_pk=patient.merged_into_id)
