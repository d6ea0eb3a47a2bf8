"""Reception's waitlist page, at /waitlist/: who waits for a freed time, in turn,
with their open offer; reception adds a patient on their behalf, changes a
priority or takes someone off. Every change goes through online.waitlist."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from clinic.kernel.errors import DomainError
from clinic.kernel.users import staff_user
from patients.models import Patient
from patients.selectors import search_patients

from .models import WaitlistEntry, WaitlistOffer
from .staff_forms import PRIORITY_LIMIT, AddWaiterForm, PriorityForm
from .waitlist import join_waitlist, leave_waitlist, set_priority

# Reception and managers: those who book, move and cancel appointments (as the
# schedule pages).
PERMISSION = "scheduling.change_appointment"
PAGE_SIZE = 50
STILL_WAITING = (WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED)


def waitlist_in_turn() -> QuerySet[WaitlistEntry]:
    """The entries still waiting (or offered a time), in the order they are offered
    freed times, each with its open offer and that offer's held appointment."""
    open_offers = WaitlistOffer.objects.filter(status=WaitlistOffer.Status.OPEN).select_related(
        "hold__doctor"
    )
    return (
        # A wish whose last date has passed can no longer be met.
        WaitlistEntry.objects.filter(status__in=STILL_WAITING, date_to__gte=timezone.localdate())
        .select_related("patient", "service", "doctor", "added_by")
        .prefetch_related(Prefetch("offers", queryset=open_offers, to_attr="open_offers"))
        .in_turn()
    )


def still_waiting(pk: int) -> WaitlistEntry:
    return get_object_or_404(WaitlistEntry.objects.filter(status__in=STILL_WAITING), pk=pk)


class WaitlistView(PermissionRequiredMixin, View):
    """The list, and the form that adds a patient to it."""

    permission_required = PERMISSION

    def get(self, request: HttpRequest) -> HttpResponse:
        patient = chosen_patient(request.GET.get("patient", ""))
        form = AddWaiterForm(initial={"patient": patient.pk} if patient else None)
        return self.page(request, form, patient)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = AddWaiterForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                entry = join_waitlist(
                    patient=data["patient"],
                    service=data["service"],
                    doctor=data["doctor"],
                    date_from=data["date_from"],
                    date_to=data["date_to"],
                    times_of_day=data["times_of_day"],
                    source=WaitlistEntry.Source.DESK,
                    by=staff_user(request),
                    priority=data["priority"],
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    _("%(patient)s is on the waitlist for %(service)s.")
                    % {"patient": entry.patient.full_name, "service": entry.service.name},
                )
                return redirect("waitlist:list")
        patient = form.cleaned_data.get("patient") if hasattr(form, "cleaned_data") else None
        return self.page(request, form, patient, status=400)

    def page(
        self, request: HttpRequest, form: Form, patient: Patient | None, status: int = 200
    ) -> HttpResponse:
        query = request.GET.get("q", "").strip()
        entries = Paginator(waitlist_in_turn(), PAGE_SIZE).get_page(request.GET.get("page"))
        context: dict[str, Any] = {
            "entries": entries,
            "form": form,
            "patient": patient,
            "query": query,
            "matches": search_patients(query=query)[:20] if query and not patient else [],
            "priority_limit": PRIORITY_LIMIT,
        }
        return render(request, "online/staff/waitlist.html", context, status=status)


def chosen_patient(asked: str) -> Patient | None:
    """The patient picked from the search (?patient=<id>), as on the booking page."""
    if not asked.isdigit() or len(asked) > 18:
        return None
    return Patient.objects.filter(pk=int(asked), merged_into__isnull=True).first()


class PriorityView(PermissionRequiredMixin, View):
    permission_required = PERMISSION

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        entry = still_waiting(pk)
        form = PriorityForm(request.POST)
        if not form.is_valid():
            messages.error(
                request,
                _("Priority for %(patient)s not changed: %(problem)s")
                % {
                    "patient": entry.patient.full_name,
                    "problem": " ".join(str(error) for error in form.errors["priority"]),
                },
            )
            return redirect("waitlist:list")
        try:
            set_priority(entry=entry, priority=form.cleaned_data["priority"])
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("%(patient)s's priority is now %(priority)s.")
                % {"patient": entry.patient.full_name, "priority": entry.priority},
            )
        return redirect("waitlist:list")


class RemoveView(PermissionRequiredMixin, View):
    """Taking a patient off the list asks first: their place in the queue, and any
    time held for them, go."""

    permission_required = PERMISSION

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        entry = still_waiting(pk)
        return render(request, "online/staff/remove_confirm.html", {"entry": entry})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        entry = still_waiting(pk)
        try:
            leave_waitlist(entry=entry)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("%(patient)s is off the waitlist for %(service)s.")
                % {"patient": entry.patient.full_name, "service": entry.service.name},
            )
        return redirect("waitlist:list")
