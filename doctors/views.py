from __future__ import annotations

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.views.generic import ListView

from .selectors import doctor_directory


class DoctorListView(PermissionRequiredMixin, ListView):
    """Read-only directory of the clinic's doctors and their weekly hours."""

    permission_required = "doctors.view_doctor"
    template_name = "doctors/doctor_list.html"
    context_object_name = "doctors"

    def get_queryset(self):
        return doctor_directory()
