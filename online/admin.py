"""The manager's side of patients online: the one set of booking rules, and the
waitlist and its offers to read (they change only through online.waitlist)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from clinic.kernel.admin import ReadOnlyAdminMixin

from .models import OnlineRules, WaitlistEntry, WaitlistOffer


@admin.register(OnlineRules)
class OnlineRulesAdmin(admin.ModelAdmin):
    """One row (OnlineRules.save keeps pk 1): the list goes straight to its form, or
    to the form that saves it the first time; it is never deleted."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not OnlineRules.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        info = self.opts.app_label, self.opts.model_name
        if OnlineRules.objects.filter(pk=1).exists():
            return HttpResponseRedirect(reverse("admin:{}_{}_change".format(*info), args=[1]))
        if self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:{}_{}_add".format(*info)))
        return super().changelist_view(request, extra_context)


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "patient",
        "service",
        "doctor",
        "date_from",
        "date_to",
        "times_of_day",
        "priority",
        "status",
        "source",
        "joined_at",
    ]
    list_filter = ["status", "source", "service", "doctor"]
    search_fields = ["patient__family_name", "patient__given_name", "patient__phone"]
    list_select_related = ["patient", "service", "doctor"]
    date_hierarchy = "joined_at"


@admin.register(WaitlistOffer)
class WaitlistOfferAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["hold", "entry", "status", "offered_at", "expires_at", "answered_at"]
    list_filter = ["status"]
    search_fields = ["entry__patient__family_name", "entry__patient__given_name"]
    list_select_related = ["hold__patient", "hold__doctor", "entry__patient", "entry__service"]
    date_hierarchy = "offered_at"
    exclude = ["token_hash"]
