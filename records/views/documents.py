"""Documents on the chart: the patient's list of documents, adding one, opening its
file (the only way to reach it: no URL serves the storage) and withdrawing one.
The rules are `records.documents`'; these pages parse input and call it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from clinic.kernel.errors import DomainError
from clinic.kernel.http import client_ip
from clinic.kernel.users import staff_user
from patients.models import Patient

from .. import documents
from ..exceptions import InvalidClinicalData, ReasonRequired
from ..models import DocumentKind, PatientDocument
from ..selectors import can_read_clinical_content
from .chart import emergency_access_of
from .merged import to_kept_registration

# The file is handed over as a download and nothing else: a browser that opened it
# anyway (or a PDF viewer's scripts) runs with no rights and reaches nothing.
FILE_CSP = "default-src 'none'; sandbox"


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        error_messages={
            "required": gettext_lazy("Choose a kind of document."),
            "invalid_choice": gettext_lazy("Choose a kind of document you may add."),
        },
    )
    title = forms.CharField(
        label=gettext_lazy("Title"),
        max_length=documents.TITLE_MAX_LENGTH,
        error_messages={"required": gettext_lazy("Give the document a title.")},
        help_text=gettext_lazy("e.g. “Full blood count, 12 March”."),
    )
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("A PDF, JPEG or PNG."),
        error_messages={
            "required": gettext_lazy("Choose the file to add."),
            "empty": gettext_lazy("The file is empty."),
        },
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )

    def __init__(self, *args: Any, kinds: list[DocumentKind], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        clinical = [(kind.value, kind.label) for kind in kinds if kind.is_clinical]
        other = [(kind.value, kind.label) for kind in kinds if not kind.is_clinical]
        groups = [(_("Clinical"), clinical), (_("Non-clinical"), other)]
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = [
            ("", _("Choose…")),
            *((label, choices) for label, choices in groups if choices),
        ]
        self.fields["file"].help_text = _(
            "A PDF, JPEG or PNG, at most %(limit)s. Its content is checked, not its name."
        ) % {"limit": documents.max_size_display()}


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why is it withdrawn?"),
        max_length=documents.REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": gettext_lazy("Say why the document is withdrawn.")},
        help_text=gettext_lazy("Shown on the chart next to the document, with your name."),
    )


def _may_handle_documents(request: HttpRequest) -> None:
    if not documents.may_handle_documents(staff_user(request)):
        raise PermissionDenied


def _refused_chart(
    request: HttpRequest, patient: Patient, *, adding: bool = False
) -> HttpResponse | None:
    """The answer to someone who may not handle this patient's documents: 403 for
    reception not allowed by the manager; the reason page for a doctor who is not
    the patient's; None for those who may go on."""
    _may_handle_documents(request)
    user = staff_user(request)
    refusal = documents.document_refusal(
        user=user,
        patient_id=patient.pk,
        kind=documents.kinds_for(user)[0],
        adding=adding,
        emergency=emergency_access_of(request, patient.pk),
    )
    if isinstance(refusal, ReasonRequired):
        return redirect("records:emergency_access", patient_pk=patient.pk)
    if refusal is not None:
        raise PermissionDenied(refusal.message)
    return None


def _back_url(request: HttpRequest, patient_id: int) -> str:
    """The chart for those who read it, the document list for reception."""
    if can_read_clinical_content(staff_user(request)):
        return reverse("records:chart", kwargs={"patient_pk": patient_id})
    return reverse("records:documents", kwargs={"patient_pk": patient_id})


class DocumentListView(View):
    """The patient's non-clinical documents with their upload link: reception's way
    to them. Doctors and managers find every document on the chart."""

    def get(self, request: HttpRequest, patient_pk: int) -> HttpResponse:
        patient = get_object_or_404(Patient, pk=patient_pk)
        if kept := to_kept_registration(request, patient):
            return kept
        if can_read_clinical_content(staff_user(request)):
            # Their documents are on the chart, whose reading is logged.
            return redirect("records:chart", patient_pk=patient.pk)
        if refused := _refused_chart(request, patient):
            return refused
        return render(request, "records/documents.html", {"patient": patient})


class DocumentAddView(View):
    """Add a document to the patient's chart: kind, title and file."""

    def get(self, request: HttpRequest, patient_pk: int) -> HttpResponse:
        patient = get_object_or_404(Patient, pk=patient_pk)
        if kept := to_kept_registration(request, patient):
            return kept
        if refused := _refused_chart(request, patient, adding=True):
            return refused
        form = DocumentForm(kinds=documents.kinds_for(staff_user(request)))
        return self.render_page(request, patient, form)

    def post(self, request: HttpRequest, patient_pk: int) -> HttpResponse:
        patient = get_object_or_404(Patient, pk=patient_pk)
        if kept := to_kept_registration(request, patient):
            return kept
        if refused := _refused_chart(request, patient, adding=True):
            return refused
        user = staff_user(request)
        form = DocumentForm(request.POST, request.FILES, kinds=documents.kinds_for(user))
        if form.is_valid():
            try:
                document = documents.add_document(
                    patient=patient,
                    by=user,
                    ip=client_ip(request),
                    emergency=emergency_access_of(request, patient.pk),
                    **form.cleaned_data,
                )
            except ReasonRequired:
                return redirect("records:emergency_access", patient_pk=patient.pk)
            except InvalidClinicalData as refusal:
                for field, errors in (refusal.errors or {"": [refusal.message]}).items():
                    form.add_error(field if field in form.fields else None, errors)
            except DomainError as refusal:
                form.add_error(None, refusal.message)
            else:
                messages.success(
                    request, _("“%(title)s” was added to the chart.") % {"title": document.title}
                )
                return redirect(_back_url(request, patient.pk))
        return self.render_page(request, patient, form, status=400)

    def render_page(
        self, request: HttpRequest, patient: Patient, form: DocumentForm, status: int = 200
    ) -> HttpResponse:
        return render(
            request,
            "records/document_add.html",
            {"patient": patient, "form": form, "back": _back_url(request, patient.pk)},
            status=status,
        )


class DocumentFileView(View):
    """The document's file, to those who may open it, as a download that is never
    cached; every opening is written to the access log. Anyone else gets a 404, as
    for a document that does not exist."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        _may_handle_documents(request)
        document = get_object_or_404(PatientDocument.objects.select_related("patient"), pk=pk)
        try:
            opened = documents.open_document(
                document=document,
                user=staff_user(request),
                ip=client_ip(request),
                emergency=emergency_access_of(request, document.chart_patient_id),
            )
        except ReasonRequired:
            return redirect("records:emergency_access", patient_pk=document.chart_patient_id)
        except DomainError as refusal:
            raise Http404(refusal.message) from refusal
        response = FileResponse(
            opened,
            as_attachment=True,
            filename=documents.download_name(document),
            content_type=document.content_type,
        )
        response["Cache-Control"] = "private, no-store"
        response["Content-Security-Policy"] = FILE_CSP
        response["X-Content-Type-Options"] = "nosniff"
        response["Cross-Origin-Resource-Policy"] = "same-origin"
        return response


class DocumentWithdrawView(View):
    """A manager withdraws a document, saying why."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        document = self.document_for(request, pk)
        return self.render_page(request, document, WithdrawForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        document = self.document_for(request, pk)
        form = WithdrawForm(request.POST)
        if form.is_valid():
            try:
                documents.withdraw_document(
                    document=document,
                    by=staff_user(request),
                    reason=form.cleaned_data["reason"],
                    ip=client_ip(request),
                )
            except InvalidClinicalData as refusal:
                for field, errors in (refusal.errors or {"": [refusal.message]}).items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(
                    request, _("“%(title)s” was withdrawn.") % {"title": document.title}
                )
                return redirect(_back_url(request, document.chart_patient_id))
        return self.render_page(request, document, form, status=400)

    def document_for(self, request: HttpRequest, pk: int) -> PatientDocument:
        if not staff_user(request).has_perm(documents.WITHDRAW_PERMISSION):
            raise PermissionDenied
        return get_object_or_404(
            PatientDocument.objects.select_related("patient", "uploaded_by"), pk=pk
        )

    def render_page(
        self, request: HttpRequest, document: PatientDocument, form: WithdrawForm, status: int = 200
    ) -> HttpResponse:
        return render(
            request,
            "records/document_withdraw.html",
            {
                "document": document,
                "patient": document.patient,
                "form": form,
                "back": _back_url(request, document.chart_patient_id),
            },
            status=status,
        )
