from __future__ import annotations

from django.contrib import admin

from clinic.kernel.admin import ReadOnlyAdminMixin

from .models import PerformedService, Session


class PerformedServiceInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PerformedService
    fields = readonly_fields = ("service", "quantity", "unit_price")
    extra = 0


@admin.register(Session)
class SessionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only for the manager: sessions change only through the doctor's pages,
    whose services keep the rules. Clinical content is in the records admin."""

    list_display = ["appointment", "doctor", "patient", "status", "started_at", "completed_at"]
    list_filter = ["status", "doctor"]
    date_hierarchy = "created_at"
    search_fields = ["patient__family_name", "patient__given_name"]
    list_select_related = [
        "appointment",
        "appointment__patient",
        "appointment__doctor",
        "doctor",
        "patient",
    ]
    inlines = [PerformedServiceInline]
