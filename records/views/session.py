"""The consulting room: the session page (note, prescription, services performed,
"Complete and sign") and the printed prescription, for the session's doctor (and
managers, read-only). Reads go through `records.selectors`, which check access and
write the access log; writes through `records.services` and
`sessions_app.services`, which own the rules."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from clinic.kernel.errors import DomainError
from clinic.kernel.http import client_ip
from clinic.kernel.users import staff_user
from sessions_app import services as sessions
from sessions_app.forms import PerformedServiceFormSet, performed_services
from sessions_app.models import Session
from sessions_app.selectors import sessions_visible_to

from .. import services
from ..forms import ClinicalNoteForm, PrescriptionItemFormSet
from ..models import ClinicalNote, Prescription
from ..rules import can_write_session_records
from ..selectors import SessionPage, session_page
from .chart import emergency_access_of


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
            {"prescription": printed, "session": page.session, "record": page.medical_record},
        )
