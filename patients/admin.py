from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from clinic.kernel.admin import ReadOnlyAdminMixin

from .models import Patient, PatientMerge


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["full_name", "date_of_birth", "phone", "national_id", "sms_opt_out"]
    list_filter = [
        "sex",
        ("sms_opted_out_at", admin.EmptyFieldListFilter),
        ("merged_into", admin.EmptyFieldListFilter),
    ]
    search_fields = ["search_text", "phone", "national_id", "email"]
    readonly_fields = ["merged_into", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["given_name", "family_name", "date_of_birth", "sex"]}),
        ("Contact", {"fields": ["phone", "email", "address", "sms_opted_out_at"]}),
        ("Other", {"fields": ["national_id", "notes", "merged_into", "created_at", "updated_at"]}),
    ]

    @admin.display(boolean=True, description="SMS opt-out")
    def sms_opt_out(self, patient: Patient) -> bool:
        return patient.sms_opt_out


@admin.register(PatientMerge)
class PatientMergeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit of merges: done on the patient's page (Merge a duplicate), read
    here."""

    list_display = ["merged_at", "merged_by", "merged", "kept", "moved_summary"]
    list_select_related = ["merged_by", "merged", "kept"]
    date_hierarchy = "merged_at"

    @admin.display(description=_("moved"))
    def moved_summary(self, merge: PatientMerge) -> str:
        return ", ".join(f"{kind}: {count}" for kind, count in merge.moved.items())
