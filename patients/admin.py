from __future__ import annotations

from django.contrib import admin

from .models import Patient


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["full_name", "date_of_birth", "phone", "national_id", "sms_opt_out"]
    list_filter = ["sex", ("sms_opted_out_at", admin.EmptyFieldListFilter)]
    search_fields = ["family_name", "given_name", "phone", "national_id", "email"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["given_name", "family_name", "date_of_birth", "sex"]}),
        ("Contact", {"fields": ["phone", "email", "address", "sms_opted_out_at"]}),
        ("Other", {"fields": ["national_id", "notes", "created_at", "updated_at"]}),
    ]

    @admin.display(boolean=True, description="SMS opt-out")
    def sms_opt_out(self, patient: Patient) -> bool:
        return patient.sms_opt_out
