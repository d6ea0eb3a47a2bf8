"""The chart: the patient's medical record and every session, addenda to signed
notes, and the page where a doctor states why they open the chart of a patient who
is not theirs. Reads go through `records.selectors`, which check access and write
the access log; writes through `records.services`, which own the rules."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views import View

from clinic.kernel.errors import DomainError
from clinic.kernel.http import client_ip
from clinic.kernel.users import staff_user
from patients.models import Patient
from sessions_app.selectors import sessions_visible_to

from .. import emergency, services
from ..emergency import EmergencyGrant
from ..exceptions import InvalidClinicalData, ReasonRequired
from ..forms import EmergencyAccessForm
from ..models import ClinicalNote
from ..rules import can_add_addendum
from ..selectors import patient_chart, reads_as_of_right


class AddendumForm(forms.Form):
    text = forms.CharField(label=_("Addendum"), widget=forms.Textarea(attrs={"rows": 2}))


def emergency_access_of(request: HttpRequest, patient_id: int) -> EmergencyGrant | None:
    """The emergency access to the patient that this sign-in holds, if any."""
    return emergency.granted(request.session, user_id=staff_user(request).pk, patient_id=patient_id)


class ChartView(PermissionRequiredMixin, View):
    """The patient's chart. A doctor who is not the patient's own is sent to the
    reason page first (`EmergencyAccessView`). The page offers an addendum form only
    on the notes the user may add to, and a print link only for the prescriptions
    the print page opens for them."""

    permission_required = "records.view_clinicalnote"

    def get(self, request: HttpRequest, patient_pk: int) -> HttpResponse:
        patient = get_object_or_404(Patient, pk=patient_pk)
        try:
            chart = patient_chart(
                patient=patient,
                user=staff_user(request),
                ip=client_ip(request),
                emergency=emergency_access_of(request, patient.pk),
            )
        except ReasonRequired:
            return redirect("records:emergency_access", patient_pk=patient.pk)
        except DomainError as refusal:
            raise Http404(refusal.message) from refusal
        notes = [getattr(visit, "clinical_note", None) for visit in chart.sessions]
        context = {
            "chart": chart,
            "addendum_form": AddendumForm(),
            "addable_notes": {
                note.pk
                for note in notes
                if note and can_add_addendum(note=note, user=staff_user(request))
            },
            # The print page opens the sessions this user may open, no others.
            "printable_sessions": set(
                sessions_visible_to(staff_user(request))
                .filter(patient=patient)
                .values_list("pk", flat=True)
            ),
        }
        return render(request, "records/chart.html", context)


class EmergencyAccessView(PermissionRequiredMixin, View):
    """ "Break the glass": the page that asks a doctor why they open the chart of a
    patient who is not theirs, warns that the access is logged and reviewed, and on
    a reason opens the chart for the rest of the sign-in. Those who need no reason
    (the patient's own doctor, a manager, a doctor who gave one already) go straight
    to the chart."""

    permission_required = "records.view_clinicalnote"

    def get(self, request: HttpRequest, patient_pk: int) -> HttpResponse:
        patient = get_object_or_404(Patient, pk=patient_pk)
        if self.needs_no_reason(request, patient):
            return redirect("records:chart", patient_pk=patient.pk)
        return self.render_page(request, patient, EmergencyAccessForm())

    def post(self, request: HttpRequest, patient_pk: int) -> HttpResponse:
        patient = get_object_or_404(Patient, pk=patient_pk)
        if self.needs_no_reason(request, patient):
            return redirect("records:chart", patient_pk=patient.pk)
        form = EmergencyAccessForm(request.POST)
        if form.is_valid():
            try:
                grant = services.break_the_glass(
                    patient=patient,
                    by=staff_user(request),
                    ip=client_ip(request),
                    **form.cleaned_data,
                )
            except InvalidClinicalData as refusal:
                for field, errors in (refusal.errors or {"": [refusal.message]}).items():
                    form.add_error(field if field in form.fields else None, errors)
            except DomainError as refusal:
                raise Http404(refusal.message) from refusal
            else:
                emergency.remember(request.session, grant)
                return redirect("records:chart", patient_pk=patient.pk)
        return self.render_page(request, patient, form, status=400)

    def needs_no_reason(self, request: HttpRequest, patient: Patient) -> bool:
        return (
            reads_as_of_right(user=staff_user(request), patient_id=patient.pk)
            or emergency_access_of(request, patient.pk) is not None
        )

    def render_page(
        self, request: HttpRequest, patient: Patient, form: EmergencyAccessForm, status: int = 200
    ) -> HttpResponse:
        return render(
            request,
            "records/emergency_access.html",
            {"patient": patient, "form": form},
            status=status,
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
                    by=staff_user(request),
                    text=form.cleaned_data["text"],
                    ip=client_ip(request),
                )
            except DomainError as refusal:
                messages.error(request, refusal.message)
            else:
                messages.success(request, "Addendum added.")
        return redirect("records:chart", patient_pk=note.session.patient_id)
