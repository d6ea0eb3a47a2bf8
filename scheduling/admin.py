from __future__ import annotations

from django.contrib import admin

from clinic.kernel.admin import ReadOnlyAdminMixin

from .models import Appointment, AppointmentChange, Service


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "duration_minutes", "price", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}


class AppointmentChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AppointmentChange
    fields = readonly_fields = (
        "changed_at",
        "action",
        "changed_by",
        "from_status",
        "to_status",
        "from_starts_at",
        "to_starts_at",
        "note",
    )
    extra = 0


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only for the manager: every change of an appointment goes through the
    reception pages, whose services keep the rules and the history."""

    list_display = ["starts_at", "ends_at", "doctor", "patient", "service", "status"]
    list_filter = ["status", "doctor", "service"]
    date_hierarchy = "starts_at"
    search_fields = ["patient__family_name", "patient__given_name", "patient__phone"]
    list_select_related = ["doctor", "patient", "service"]
    inlines = [AppointmentChangeInline]
