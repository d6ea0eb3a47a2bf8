from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views.generic import CreateView, DetailView, ListView, UpdateView

from .forms import PatientForm
from .models import Patient
from .selectors import search_patients
from .services import save_patient


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


class PatientFormMixin:
    """Saves through the patients service, then says what happened."""

    model = Patient
    form_class = PatientForm
    template_name = "patients/patient_form.html"
    success_message = ""

    def form_valid(self, form):
        self.object = save_patient(
            patient=form.save(commit=False), sms_opt_out=form.cleaned_data["sms_opt_out"]
        )
        messages.success(self.request, self.success_message % {"name": self.object.full_name})
        if self.request.GET.get("then") == "book":
            # Registered from the booking page: go back to it with the patient chosen.
            return HttpResponseRedirect(f"{reverse('scheduling:book')}?patient={self.object.pk}")
        return HttpResponseRedirect(self.object.get_absolute_url())


class PatientCreateView(PermissionRequiredMixin, PatientFormMixin, CreateView):
    permission_required = "patients.add_patient"
    success_message = "%(name)s is registered."


class PatientUpdateView(PermissionRequiredMixin, PatientFormMixin, UpdateView):
    permission_required = "patients.change_patient"
    success_message = "%(name)s's details are saved."
