from __future__ import annotations

from django.contrib import admin

from .models import PerformedService, Session


class PerformedServiceInline(admin.TabularInline):
    model = PerformedService
    fields = ["service", "quantity", "unit_price"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
