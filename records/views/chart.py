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
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View

from clinic.kernel.errors import DomainError
from clinic.kernel.http import client_ip
from clinic.kernel.users import staff_user
from patients.models import Patient
from sessions_app.selectors import sessions_visible_to

from .. import emergency, history, services, vitals
from ..emergency import EmergencyGrant
from ..exceptions import InvalidClinicalData, ReasonRequired
from ..forms import EmergencyAccessForm
from ..models import Allergy, ClinicalNote
from ..record_forms import AllergyFormSet, BaseAllergyFormSet, MedicalRecordForm
from ..rules import can_add_addendum, record_edit_refusal
from ..selectors import medical_record, patient_chart, reads_as_of_right
from ..units import temperature_unit, weight_unit
from .merged import to_kept_registration


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
        if kept := to_kept_registration(request, patient):
            return kept
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
        visit_vitals = vitals.visit_vitals(chart.sessions)
        context = {
            "chart": chart,
            "can_edit_record": record_edit_refusal(
                user=staff_user(request),
                patient_id=patient.pk,
                emergency=chart.emergency,
            )
            is None,
            "history": [(change, history.describe(change)) for change in chart.history],
            "vitals": visit_vitals,
            "trend_charts": vitals.trend_charts(visit_vitals),
            "temperature_unit": temperature_unit().symbol,
            "weight_unit": weight_unit().symbol,
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
        if kept := to_kept_registration(request, patient):
            return kept
        if self.needs_no_reason(request, patient):
            return redirect("records:chart", patient_pk=patient.pk)
        return self.render_page(request, patient, EmergencyAccessForm())

    def post(self, request: HttpRequest, patient_pk: int) -> HttpResponse:
        patient = get_object_or_404(Patient, pk=patient_pk)
        if kept := to_kept_registration(request, patient):
            return kept
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
            messages.error(request, gettext("Write the addendum's text."))
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
                messages.success(request, gettext("Addendum added."))
        return redirect("records:chart", patient_pk=note.session.patient_id)


def back_to(request: HttpRequest, default: str) -> str:
    """Where to go after the form: `next` when it is a page of this site (the
    session page that sent the doctor here), else `default`."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return default


class MedicalRecordEditView(PermissionRequiredMixin, View):
    """The doctor's form of the medical record: allergies (severity, reaction),
    chronic conditions, current medications, blood type, notes. For those who may
    read the chart (a doctor who is not the patient's own states why first); saved
    through `update_medical_record`, which keeps the history. Goes back to `next`
    (the session page) or to the chart."""

    permission_required = "records.change_medicalrecord"

    def get(self, request: HttpRequest, patient_pk: int) -> HttpResponse:
        patient = get_object_or_404(Patient, pk=patient_pk)
        if kept := to_kept_registration(request, patient):
            return kept
        record = self.load(request, patient)
        if isinstance(record, HttpResponse):
            return record
        return self.render_page(request, patient, *self.forms(record))

    def post(self, request: HttpRequest, patient_pk: int) -> HttpResponse:
        patient = get_object_or_404(Patient, pk=patient_pk)
        if kept := to_kept_registration(request, patient):
            return kept
        record = self.load(request, patient)
        if isinstance(record, HttpResponse):
            return record
        record_form, allergies = self.forms(record, request.POST)
        if record_form.is_valid() and allergies.is_valid():
            try:
                services.update_medical_record(
                    patient=patient,
                    by=staff_user(request),
                    ip=client_ip(request),
                    emergency=emergency_access_of(request, patient.pk),
                    allergies=allergies.allergies(),
                    **record_form.cleaned_data,
                )
            except InvalidClinicalData as refusal:
                for field, errors in (refusal.errors or {"": [refusal.message]}).items():
                    record_form.add_error(field if field in record_form.fields else None, errors)
            except DomainError as refusal:
                raise Http404(refusal.message) from refusal
            else:
                messages.success(request, gettext("The medical record is saved."))
                return redirect(back_to(request, reverse("records:chart", args=[patient.pk])))
        return self.render_page(request, patient, record_form, allergies, status=400)

    def load(self, request: HttpRequest, patient: Patient):
        """The record (None before its first write), or the response that sends a
        doctor who must state a reason to the reason page."""
        try:
            return medical_record(
                patient=patient,
                user=staff_user(request),
                ip=client_ip(request),
                emergency=emergency_access_of(request, patient.pk),
            )
        except ReasonRequired:
            return redirect("records:emergency_access", patient_pk=patient.pk)
        except DomainError as refusal:
            raise Http404(refusal.message) from refusal

    def forms(self, record, data=None) -> tuple[MedicalRecordForm, BaseAllergyFormSet]:
        queryset = record.allergies.all() if record is not None else Allergy.objects.none()
        return (
            MedicalRecordForm(data, instance=record, prefix="record"),
            AllergyFormSet(data, queryset=queryset, prefix="allergies"),
        )

    def render_page(self, request, patient, record_form, allergies, status=200) -> HttpResponse:
        return render(
            request,
            "records/record_form.html",
            {
                "patient": patient,
                "record_form": record_form,
                "allergies": allergies,
                "next": back_to(request, ""),
                "cancel_url": back_to(request, reverse("records:chart", args=[patient.pk])),
            },
            status=status,
        )
