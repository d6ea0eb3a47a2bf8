"""The manager's merge of a patient registered twice: from the patient to keep,
find the duplicate, see what would move (or why it cannot), confirm."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views import View

from clinic.kernel.users import staff_user

from .exceptions import PatientMergeRefused
from .models import Patient
from .selectors import search_patients
from .services import merge_patients, plan_merge

MERGE_PERMISSIONS = ("patients.view_patient", "patients.merge_patients")


class ChooseDuplicateView(PermissionRequiredMixin, View):
    """Find the other registration of the patient to keep."""

    permission_required = MERGE_PERMISSIONS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        kept = get_object_or_404(Patient, pk=pk, merged_into__isnull=True)
        query = request.GET.get("q", "").strip()
        matches = search_patients(query=query).exclude(pk=kept.pk)[:20] if query else []
        return render(
            request,
            "patients/merge_choose.html",
            {"kept": kept, "query": query, "matches": matches},
        )


class ConfirmMergeView(PermissionRequiredMixin, View):
    """What merging `other` into `pk` moves, and the button that does it."""

    permission_required = MERGE_PERMISSIONS

    def get(self, request: HttpRequest, pk: int, other: int) -> HttpResponse:
        kept, merged = self._pair(pk, other)
        try:
            moves, refusal = plan_merge(kept=kept, merged=merged), ""
        except PatientMergeRefused as error:
            moves, refusal = [], error.message
        return self._page(request, kept, merged, moves, refusal)

    def post(self, request: HttpRequest, pk: int, other: int) -> HttpResponse:
        kept, merged = self._pair(pk, other)
        try:
            merge_patients(kept=kept, merged=merged, by=staff_user(request))
        except PatientMergeRefused as error:
            return self._page(request, kept, merged, [], error.message, status=409)
        messages.success(
            request,
            _("%(merged)s (#%(merged_id)s) is merged into %(kept)s.")
            % {"merged": merged.full_name, "merged_id": merged.pk, "kept": kept.full_name},
        )
        return HttpResponseRedirect(kept.get_absolute_url())

    def _pair(self, pk: int, other: int) -> tuple[Patient, Patient]:
        return get_object_or_404(Patient, pk=pk), get_object_or_404(Patient, pk=other)

    def _page(
        self,
        request: HttpRequest,
        kept: Patient,
        merged: Patient,
        moves: list[tuple[str, int]],
        refusal: str,
        status: int = 200,
    ) -> HttpResponse:
        context = {"kept": kept, "merged": merged, "moves": moves, "refusal": refusal}
        return render(request, "patients/merge_confirm.html", context, status=status)
