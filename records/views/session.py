"""The consulting room: the session page (note, prescription, services performed,
"Complete and sign") and the printed prescription, for the session's doctor (and
managers, read-only). Reads go through `records.selectors`, which check access and
write the access log; writes through `records.services` and
`sessions_app.services`, which own the rules.

"Complete and sign" is two steps. The page posts `review`: the forms are checked
and the confirmation shows what will be signed (the note, the prescription, the
services), carrying the posted page along in hidden fields; "Sign" posts it again
as `sign`, which saves and completes in one transaction, so what is signed is what
the doctor read. "Back" posts `edit` and returns to the page as it was typed."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from clinic.kernel.errors import DomainError
from clinic.kernel.http import client_ip
from clinic.kernel.users import staff_user
from sessions_app import services as sessions
from sessions_app.forms import PERFORMED_MAX_LINES, PerformedServiceFormSet, performed_services
from sessions_app.models import Session
from sessions_app.selectors import sessions_visible_to

from .. import services
from ..allergies import matching_allergies
from ..forms import PRESCRIPTION_MAX_ITEMS, ClinicalNoteForm, PrescriptionItemFormSet
from ..models import ClinicalNote, NoteTemplate, Prescription, Route
from ..models.templates import SOAP_FIELDS
from ..rules import allergy_names, can_write_session_records, signing_refusal
from ..selectors import SessionPage, session_page
from .chart import emergency_access_of

# The no-script "add another" buttons: which formset grows by one row.
# The "add another" buttons: which formset grows, and up to how many rows.
ADD_ROW = {
    "add_item": ("items", PRESCRIPTION_MAX_ITEMS),
    "add_service": ("performed", PERFORMED_MAX_LINES),
}


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
    """The session page: patient header with allergies, the note (from a template
    when empty), the prescription items, the services performed, and "Complete and
    sign" with its confirmation; read-only once signed."""

    permission_required = "sessions_app.view_session"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        page = self.load(request, pk)
        template = self.picked_template(request, page)
        note_form, items, performed = self.forms(page)
        if template is not None:
            note_form = ClinicalNoteForm(
                instance=note_form.instance, initial=template.soap(), prefix="note"
            )
        return self.render_page(request, page, note_form, items, performed, template=template)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        page = self.load(request, pk)
        action = request.POST.get("action", "save")
        if action in ADD_ROW:
            data = grow(request.POST, *ADD_ROW[action])
            return self.render_page(request, page, *self.forms(page, data))
        note_form, items, performed = self.forms(page, request.POST)
        if action == "edit" or not all(form.is_valid() for form in (note_form, items, performed)):
            status = 200 if action == "edit" else 400
            return self.render_page(request, page, note_form, items, performed, status=status)
        if action == "review":
            return self.review(request, page, note_form, items, performed)
        if action == "sign":
            return self.sign(request, page, note_form, items, performed)
        try:
            with transaction.atomic():
                self.save(request, page, note_form, items, performed)
        except DomainError as refusal:
            note_form.add_error(None, refusal.message)
            return self.render_page(request, page, note_form, items, performed, status=400)
        messages.success(request, _("Saved."))
        return redirect(page.session)

    def review(self, request, page, note_form, items, performed) -> HttpResponse:
        """The confirmation: what "Sign" will sign, or the page again with why it
        cannot be signed yet."""
        refusal = self.refusal(request, page, note_form)
        if refusal is not None:
            note_form.add_error(None, refusal)
            return self.render_page(request, page, note_form, items, performed, status=400)
        return self.render_confirmation(request, page, note_form, items, performed)

    def sign(self, request, page, note_form, items, performed) -> HttpResponse:
        refusal = self.refusal(request, page, note_form)
        if refusal is not None:
            note_form.add_error(None, refusal)
            return self.render_page(request, page, note_form, items, performed, status=400)
        if self.allergy_conflicts(page, items) and not request.POST.get("prescribe_anyway"):
            error = _(
                "A medication matches a recorded allergy: confirm that you prescribe it "
                "anyway, or go back and change the prescription."
            )
            return self.render_confirmation(
                request, page, note_form, items, performed, error=error, status=400
            )
        try:
            with transaction.atomic():
                self.save(request, page, note_form, items, performed)
                sessions.complete_session(
                    session=page.session,
                    by=staff_user(request),
                    performed=performed_services(performed),
                )
        except DomainError as refusal_error:
            note_form.add_error(None, refusal_error.message)
            return self.render_page(request, page, note_form, items, performed, status=400)
        messages.success(request, _("Session completed; the note and prescription are signed."))
        return redirect(page.session)

    def refusal(self, request, page, note_form) -> str | None:
        """Why the page as posted cannot be signed: not this user's to sign, or an
        empty note (the signing refuses it too, whatever path completes)."""
        if not can_write_session_records(session=page.session, user=staff_user(request)):
            return _("Only the session's doctor signs it, while it is open.")
        refused = signing_refusal(ClinicalNote(**note_form.cleaned_data))
        return refused.message if refused is not None else None

    def load(self, request: HttpRequest, pk: int) -> SessionPage:
        return load_session_page(
            request, get_object_or_404(sessions_visible_to(staff_user(request)), pk=pk)
        )

    def picked_template(self, request: HttpRequest, page: SessionPage) -> NoteTemplate | None:
        """The note template asked for (`?template=`), when the note is still
        empty and the user writes it; an unknown one is answered with a message."""
        wanted = request.GET.get("template", "")
        if not wanted:
            return None
        if not (
            note_is_empty(page.records.note)
            and can_write_session_records(session=page.session, user=staff_user(request))
        ):
            messages.warning(request, _("A template fills only an empty note."))
            return None
        offered = NoteTemplate.objects.for_service(page.session.appointment.service)
        template = offered.filter(pk=int(wanted)).first() if wanted.isdigit() else None
        if template is None:
            messages.error(request, _("That template is not offered for this visit."))
        return template

    def forms(self, page: SessionPage, data: QueryDict | None = None):
        session = page.session
        note = page.records.note or ClinicalNote(session=session)
        prescription = next(iter(page.records.prescriptions), None) or Prescription(session=session)
        # The lines kept by an earlier Save, else the appointment's service once.
        initial_services = [
            {"service": line.service, "quantity": line.quantity}
            for line in session.performed.select_related("service")
        ] or [{"service": session.appointment.service, "quantity": 1}]
        return (
            ClinicalNoteForm(data, instance=note, prefix="note"),
            PrescriptionItemFormSet(data, instance=prescription, prefix="items"),
            # Initial values only for display: a posted line equal to them would
            # count as "unchanged", and so as missing.
            PerformedServiceFormSet(
                data, initial=None if data else initial_services, prefix="performed"
            ),
        )

    def save(self, request, page, note_form, items, performed) -> None:
        ip = client_ip(request)
        sessions.keep_performed_services(
            session=page.session, by=staff_user(request), performed=performed_services(performed)
        )
        services.write_note(
            session=page.session, by=staff_user(request), ip=ip, **note_form.cleaned_data
        )
        prescribed = items.items()
        if items.instance.pk:
            services.replace_prescription_items(
                prescription=items.instance, by=staff_user(request), items=prescribed, ip=ip
            )
        elif prescribed:
            services.add_prescription(
                session=page.session, by=staff_user(request), items=prescribed, ip=ip
            )

    def allergy_conflicts(self, page: SessionPage, items) -> list[tuple[str, list[str]]]:
        """Flag each item form whose medication matches a recorded allergy
        (`form.allergies`), and return the (medication, allergies) pairs."""
        allergies = allergy_names(page.medical_record)
        conflicts = []
        for form in items.forms:
            medication = item_medication(form)
            form.allergies = matching_allergies(medication, allergies) if medication else []
            if form.allergies and not (form.is_bound and form_deleted(form)):
                conflicts.append((medication, form.allergies))
        return conflicts

    def render_page(
        self, request, page, note_form, items, performed, *, template=None, status=200
    ) -> HttpResponse:
        session = page.session
        can_edit = can_write_session_records(session=session, user=staff_user(request))
        note = page.records.note
        context: dict[str, Any] = {
            "page": page,
            "session": session,
            "can_edit": can_edit,
            "note": note,
            "signed": note is not None and note.is_signed,
            # Its errors are shown even on the read-only page: why a post was refused.
            "note_form": note_form,
        }
        if not can_edit:
            context.update(readonly_values(note), performed_lines=performed_lines(session))
        else:
            context.update(
                items=items,
                performed=performed,
                allergy_conflicts=self.allergy_conflicts(page, items),
                picked_template=template,
                note_templates=(
                    list(NoteTemplate.objects.for_service(session.appointment.service))
                    if note_is_empty(note) and template is None and not note_form.is_bound
                    else []
                ),
            )
        return render(request, "records/session.html", context, status=status)

    def render_confirmation(
        self, request, page, note_form, items, performed, *, error=None, status=200
    ) -> HttpResponse:
        drafted = ClinicalNote(**note_form.cleaned_data)
        return render(
            request,
            "records/session_confirm.html",
            {
                "page": page,
                "session": page.session,
                "note": drafted,
                "soap": readonly_values(drafted)["note_values"],
                "prescribed": [
                    {**item, "route_label": Route(item["route"]).label} for item in items.items()
                ],
                "performed": performed_services(performed),
                "allergy_conflicts": self.allergy_conflicts(page, items),
                "posted": [
                    (name, value)
                    for name, values in request.POST.lists()
                    if name not in ("csrfmiddlewaretoken", "action", "prescribe_anyway")
                    for value in values
                ],
                "error": error,
            },
            status=status,
        )


VITALS = ("bp_systolic", "bp_diastolic", "pulse", "temperature_c", "weight_kg")


def readonly_values(note: ClinicalNote | None) -> dict[str, Any]:
    """The note as the read-only page shows it: values, never disabled inputs."""
    if note is None:
        return {"note_values": [], "vitals": []}

    def field(name: str) -> Any:
        return note._meta.get_field(name)

    return {
        "note_values": [(field(name).verbose_name, getattr(note, name)) for name in SOAP_FIELDS],
        "vitals": [
            (field(name).verbose_name, getattr(note, name))
            for name in VITALS
            if getattr(note, name) is not None
        ],
    }


def performed_lines(session: Session) -> list[Any]:
    return list(session.performed.select_related("service"))


def note_is_empty(note: ClinicalNote | None) -> bool:
    return note is None or not any(getattr(note, name).strip() for name in SOAP_FIELDS)


def item_medication(form) -> str:
    if form.is_bound:
        return str(form.data.get(form.add_prefix("medication"), "")).strip()
    return str(form.initial.get("medication", "")).strip()


def form_deleted(form) -> bool:
    return bool(form.data.get(form.add_prefix("DELETE")))


def grow(data: QueryDict, prefix: str, most: int) -> QueryDict:
    """The posted page with one more (blank) row in the `prefix` formset: the "add
    another" buttons when no script runs."""
    grown = data.copy()
    key = f"{prefix}-TOTAL_FORMS"
    try:
        total = int(grown.get(key, "0"))
    except ValueError:
        total = 0
    grown[key] = str(min(max(total, 0) + 1, most))
    return grown


class PrescriptionPrintView(PermissionRequiredMixin, View):
    """The prescription as a pharmacy takes it: clinic, prescriber (qualification,
    registration number), patient with date of birth, number, date, items and the
    signature line; the header repeats on every printed page."""

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
            {
                "prescription": printed,
                "session": page.session,
                "page": page,
                "record": page.medical_record,
                "clinic_address": settings.CLINIC_ADDRESS,
                "clinic_phone": settings.CLINIC_PHONE,
            },
        )
