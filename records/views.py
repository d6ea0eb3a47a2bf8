"""The consulting room and the chart: the session page (note, prescription, services
performed, "Complete and sign"), the printed prescription, the patient's chart and
addenda, for doctors (and managers, read-only), and the page where a doctor states
why they open the chart of a patient who is not theirs. Reads go through
`records.selectors`, which check access and write the access log; writes through
`records.services` and `sessions_app.services`, which own the rules."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views import View

from clinic.kernel.errors import DomainError
from clinic.kernel.http import client_ip
from clinic.kernel.users import staff_user
from patients.models import Patient
from sessions_app import services as sessions
from sessions_app.forms import PerformedServiceFormSet, performed_services
from sessions_app.models import Session
from sessions_app.selectors import sessions_visible_to

from . import emergency, services
from .emergency import EmergencyGrant
from .exceptions import InvalidClinicalData, ReasonRequired
from .forms import ClinicalNoteForm, EmergencyAccessForm, PrescriptionItemFormSet
from .models import ClinicalNote, Prescription
from .rules import can_add_addendum, can_write_session_records
from .selectors import SessionPage, patient_chart, reads_as_of_right, session_page


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


def load_session_page(request: HttpRequest, session: Session) -> SessionPage:
    """The session page's content, read (and logged) as this user; a user who may
    not read it finds nothing.

    Doctors reach only their own sessions (`sessions_visible_to`), whose patients
    are theirs, so the session and print pages never need a reason; should a read
    ever need one (`ReasonRequired`), it is refused here rather than asked."""
    try:
        return session_page(
            session=session,
            user=staff_user(request),
            ip=client_ip(request),
            emergency=emergency_access_of(request, session.patient_id),
        )
    except DomainError as refusal:
        raise Http404(refusal.message) from refusal


class SessionView(PermissionRequiredMixin, View):
    """The session page: patient header with allergies, the note, the prescription
    items, the services performed, and "Complete and sign"."""

    permission_required = "sessions_app.view_session"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        page = self.load(request, pk)
        return self.render_page(request, page, *self.forms(page))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        page = self.load(request, pk)
        note_form, items, performed = self.forms(page, request.POST)
        completing = request.POST.get("action") == "complete"
        if not all(form.is_valid() for form in (note_form, items, performed)):
            return self.render_page(request, page, note_form, items, performed, status=400)
        try:
            with transaction.atomic():
                self.save(request, page, note_form, items)
                if completing:
                    sessions.complete_session(
                        session=page.session,
                        by=staff_user(request),
                        performed=performed_services(performed),
                    )
        except DomainError as refusal:
            note_form.add_error(None, refusal.message)
            return self.render_page(request, page, note_form, items, performed, status=400)
        if completing:
            messages.success(request, "Session completed; the note and prescription are signed.")
        else:
            messages.success(request, "Saved.")
        return redirect(page.session)

    def load(self, request: HttpRequest, pk: int) -> SessionPage:
        return load_session_page(
            request, get_object_or_404(sessions_visible_to(staff_user(request)), pk=pk)
        )

    def forms(self, page, data=None):
        session = page.session
        note = page.records.note or ClinicalNote(session=session)
        prescription = next(iter(page.records.prescriptions), None) or Prescription(session=session)
        initial_services = [{"service": session.appointment.service, "quantity": 1}]
        return (
            ClinicalNoteForm(data, instance=note, prefix="note"),
            PrescriptionItemFormSet(data, instance=prescription, prefix="items"),
            # Initial values only for display: a posted line equal to them would
            # count as "unchanged", and so as missing.
            PerformedServiceFormSet(
                data, initial=None if data else initial_services, prefix="performed"
            ),
        )

    def save(self, request, page, note_form, items) -> None:
        ip = client_ip(request)
        services.write_note(
            session=page.session, by=staff_user(request), ip=ip, **note_form.cleaned_data
        )
        prescribed = items.items()
        if items.instance.pk:
            services.replace_prescription_items(
                prescription=items.instance, by=staff_user(request), items=prescribed, ip=ip
            )
        elif any(item.get("medication") for item in prescribed):
            services.add_prescription(
                session=page.session, by=staff_user(request), items=prescribed, ip=ip
            )

    def render_page(self, request, page, note_form, items, performed, status=200):
        session = page.session
        return render(
            request,
            "records/session.html",
            {
                "page": page,
                "session": session,
                "note_form": note_form,
                "items": items,
                "performed": performed,
                "can_edit": can_write_session_records(session=session, user=staff_user(request)),
            },
            status=status,
        )


class PrescriptionPrintView(PermissionRequiredMixin, View):
    permission_required = "sessions_app.view_session"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        prescription = get_object_or_404(
            Prescription.objects.filter(session__in=sessions_visible_to(staff_user(request))), pk=pk
        )
        page = load_session_page(request, prescription.session)
        printed = next(p for p in page.records.prescriptions if p.pk == prescription.pk)
        return render(
            request,
            "records/prescription_print.html",
            {"prescription": printed, "session": page.session},
        )
