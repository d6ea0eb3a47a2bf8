"""The patient's chart and addenda, for doctors (and managers, read-only). Reads go
through `records.selectors`, which check access and write the access log."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from clinic.errors import DomainError
from clinic.http import client_ip
from patients.models import Patient

from . import services
from .models import ClinicalNote
from .selectors import patient_chart


class AddendumForm(forms.Form):
    text = forms.CharField(label="Addendum", widget=forms.Textarea(attrs={"rows": 2}))


class ChartView(PermissionRequiredMixin, View):
    permission_required = "records.view_clinicalnote"

    def get(self, request: HttpRequest, patient_pk: int) -> HttpResponse:
        patient = get_object_or_404(Patient, pk=patient_pk)
        try:
            chart = patient_chart(patient=patient, user=request.user, ip=client_ip(request))
        except DomainError as refusal:
            raise Http404(refusal.message) from refusal
        return render(
            request, "records/chart.html", {"chart": chart, "addendum_form": AddendumForm()}
        )


class AddendumView(PermissionRequiredMixin, View):
    permission_required = "records.add_addendum"

    def post(self, request: HttpRequest, note_pk: int) -> HttpResponse:
        note = get_object_or_404(ClinicalNote.objects.select_related("session"), pk=note_pk)
        form = AddendumForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Write the addendum's text.")
        else:
            try:
                services.add_addendum(
                    note=note,
                    by=request.user,
                    text=form.cleaned_data["text"],
                    ip=client_ip(request),
                )
            except DomainError as refusal:
                messages.error(request, refusal.message)
            else:
                messages.success(request, "Addendum added.")
        return redirect("records:chart", patient_pk=note.session.patient_id)
