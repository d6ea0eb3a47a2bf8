from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import CreateView, DetailView, ListView, UpdateView

from .forms import PatientForm
from .models import Patient
from .normalise import name_key
from .selectors import likely_duplicates, search_patients
from .services import mark_reviewed, save_patient


class PatientListView(PermissionRequiredMixin, ListView):
    permission_required = "patients.view_patient"
    template_name = "patients/patient_list.html"
    context_object_name = "patients"
    paginate_by = 25

    def get_queryset(self):
        return search_patients(query=self.request.GET.get("q", ""))

    def get_context_data(self, **kwargs):
        return super().get_context_data(query=self.request.GET.get("q", "").strip(), **kwargs)


class PatientDetailView(PermissionRequiredMixin, DetailView):
    permission_required = "patients.view_patient"
    model = Patient
    template_name = "patients/patient_detail.html"

    # The page's list of appointments is scheduling's part of it, drawn by a
    # template tag (scheduling.templatetags.appointments).

    def get_context_data(self, **kwargs):
        patient = self.object
        duplicates = []
        if patient.registered_online and not patient.is_merged:
            duplicates = list(registered_before(patient))
        return super().get_context_data(online_duplicates=duplicates, **kwargs)


def registered_before(patient: Patient) -> QuerySet[Patient]:
    """Who a patient registered online may be already (the same name and date of
    birth, or the same phone): the registrations to merge them into."""
    return likely_duplicates(
        given_name=patient.given_name,
        family_name=patient.family_name,
        date_of_birth=patient.date_of_birth,
        phone=patient.phone.as_e164 if patient.phone else "",
    ).exclude(pk=patient.pk)[:5]


class MarkReviewedView(PermissionRequiredMixin, View):
    """ "Reviewed": reception has looked at a patient registered online."""

    permission_required = "patients.change_patient"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        patient = get_object_or_404(Patient, pk=pk)
        mark_reviewed(patient=patient)
        messages.success(
            request, _("%(name)s is marked as reviewed.") % {"name": patient.full_name}
        )
        return HttpResponseRedirect(patient.get_absolute_url())


# Pages that send reception here to register a patient, and take them back with
# the new patient chosen (?then=...): the booking page and the walk-in page.
THEN = {"book": "scheduling:book", "walk-in": "scheduling:walk_in"}


def save_and_go_on(request: HttpRequest, form: ModelForm, message: str) -> HttpResponse:
    """Save a valid patient form through the patients service, say so with `message`
    (its %(name)s is the patient's name), and go on to the patient's page, or back
    to the booking or walk-in page when the patient was registered from it."""
    patient = save_patient(
        patient=form.save(commit=False), sms_opt_out=form.cleaned_data["sms_opt_out"]
    )
    messages.success(request, message % {"name": patient.full_name})
    then = THEN.get(request.GET.get("then", ""))
    if then:
        return HttpResponseRedirect(f"{reverse(then)}?patient={patient.pk}")
    return HttpResponseRedirect(patient.get_absolute_url())


class PatientCreateView(PermissionRequiredMixin, CreateView):
    """Registering a patient. A patient who looks registered already (the same
    name and date of birth, or the same phone) is shown first, to be used instead;
    registering them anyway takes the page's "Register anyway" button."""

    permission_required = "patients.add_patient"
    model = Patient
    form_class = PatientForm
    template_name = "patients/patient_form.html"

    def form_valid(self, form: ModelForm) -> HttpResponse:
        if self.request.POST.get("confirm_new_patient") != "yes":
            duplicates = possible_duplicates(form.cleaned_data)
            if duplicates:
                return self.render_to_response(
                    self.get_context_data(form=form, duplicates=duplicates, use_url=self._use_url())
                )
        return save_and_go_on(self.request, form, _("%(name)s is registered."))

    def _use_url(self) -> str:
        """Where "Use this patient" goes, before the patient's id: back to the
        booking or walk-in page with them chosen, or to their page."""
        then = THEN.get(self.request.GET.get("then", ""))
        return f"{reverse(then)}?patient=" if then else ""


def possible_duplicates(data: dict) -> list[tuple[Patient, list[str]]]:
    """The registered patients the form's patient may be, each with why."""
    phone = data.get("phone")
    e164 = phone.as_e164 if phone else ""
    key = name_key(given_name=data["given_name"], family_name=data["family_name"])
    matches = likely_duplicates(
        given_name=data["given_name"],
        family_name=data["family_name"],
        date_of_birth=data.get("date_of_birth"),
        phone=e164,
    )[:5]
    found = []
    for patient in matches:
        reasons = []
        if patient.search_text == key and patient.date_of_birth == data.get("date_of_birth"):
            reasons.append(_("same name and date of birth"))
        if e164 and patient.phone == e164:
            reasons.append(_("same phone number"))
        found.append((patient, reasons))
    return found


class PatientUpdateView(PermissionRequiredMixin, UpdateView):
    permission_required = "patients.change_patient"
    model = Patient
    form_class = PatientForm
    template_name = "patients/patient_form.html"

    def form_valid(self, form: ModelForm) -> HttpResponse:
        return save_and_go_on(self.request, form, _("%(name)s's details are saved."))
