"""The doctor's session pages: start from the queue, write the note and the
prescription, complete and sign, print the prescription. Views parse the forms and
call the sessions and records services, which own the rules."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from clinic.errors import DomainError
from clinic.http import client_ip
from records import services as records
from records.forms import ClinicalNoteForm, PrescriptionItemFormSet
from records.models import ClinicalNote, Prescription
from scheduling.selectors import appointments_visible_to

from . import services
from .forms import PerformedServiceFormSet, performed_services
from .models import Session, SessionStatus
from .selectors import SessionPage, session_page, sessions_visible_to


def load_session_page(request: HttpRequest, session: Session) -> SessionPage:
    """The session page's content, read (and logged) as this user; a user who may
    not read clinical content finds nothing."""
    try:
        return session_page(session=session, user=request.user, ip=client_ip(request))
    except DomainError as refusal:
        raise Http404(refusal.message) from refusal


class StartSessionView(PermissionRequiredMixin, View):
    """ "Start session" on an arrived patient in the doctor's queue."""

    permission_required = "sessions_app.change_session"

    def post(self, request: HttpRequest, appointment_pk: int) -> HttpResponse:
        appointment = get_object_or_404(
            appointments_visible_to(request.user).filter(doctor__user=request.user),
            pk=appointment_pk,
        )
        try:
            session = services.open_and_start_session(appointment=appointment, by=request.user)
        except DomainError as refusal:
            messages.error(request, refusal.message)
            return redirect("scheduling:my_day")
        return redirect("sessions:detail", pk=session.pk)


class AppointmentSessionView(PermissionRequiredMixin, View):
    """From an appointment (in the doctor's day) to its session's page."""

    permission_required = "sessions_app.view_session"

    def get(self, request: HttpRequest, appointment_pk: int) -> HttpResponse:
        session = get_object_or_404(
            sessions_visible_to(request.user), appointment_id=appointment_pk
        )
        return redirect("sessions:detail", pk=session.pk)


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
                    services.complete_session(
                        session=page.session,
                        by=request.user,
                        performed=performed_services(performed),
                    )
        except DomainError as refusal:
            note_form.add_error(None, refusal.message)
            return self.render_page(request, page, note_form, items, performed, status=400)
        if completing:
            messages.success(request, "Session completed; the note and prescription are signed.")
        else:
            messages.success(request, "Saved.")
        return redirect("sessions:detail", pk=page.session.pk)

    def load(self, request: HttpRequest, pk: int) -> SessionPage:
        return load_session_page(
            request, get_object_or_404(sessions_visible_to(request.user), pk=pk)
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
        records.write_note(session=page.session, by=request.user, ip=ip, **note_form.cleaned_data)
        prescribed = items.items()
        if items.instance.pk:
            records.replace_prescription_items(
                prescription=items.instance, by=request.user, items=prescribed, ip=ip
            )
        elif any(item.get("medication") for item in prescribed):
            records.add_prescription(session=page.session, by=request.user, items=prescribed, ip=ip)

    def render_page(self, request, page, note_form, items, performed, status=200):
        session = page.session
        return render(
            request,
            "sessions_app/session.html",
            {
                "page": page,
                "session": session,
                "note_form": note_form,
                "items": items,
                "performed": performed,
                "can_edit": session.status != SessionStatus.COMPLETED
                and session.doctor.user_id == request.user.pk,
            },
            status=status,
        )


class PrescriptionPrintView(PermissionRequiredMixin, View):
    permission_required = "sessions_app.view_session"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        prescription = get_object_or_404(
            Prescription.objects.filter(session__in=sessions_visible_to(request.user)), pk=pk
        )
        page = load_session_page(request, prescription.session)
        printed = next(p for p in page.records.prescriptions if p.pk == prescription.pk)
        return render(
            request,
            "sessions_app/prescription_print.html",
            {"prescription": printed, "session": page.session},
        )
