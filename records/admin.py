"""The manager's view of the records. Clinical content is read-only here: notes
and prescriptions are written by the session's doctor through the services, which
sign and lock them; the medical record is saved through `update_medical_record`.
Opening an entry's page is a read and is logged; the access log itself can be
filtered and searched, never changed. The emergency accesses (doctors who opened
the chart of a patient not theirs, and why) have a report of their own, for
managers only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from clinic.kernel.admin import ReadOnlyAdminMixin
from clinic.kernel.http import client_ip
from clinic.kernel.users import staff_user
from patients.models import Patient

from .audit import log_access
from .models import (
    AccessAction,
    AccessLog,
    Addendum,
    Allergy,
    ClinicalNote,
    EmergencyAccess,
    MedicalRecord,
    Prescription,
    PrescriptionItem,
    RecordChange,
)
from .services import RECORD_FIELDS, update_medical_record

PATIENT_SEARCH = ["patient__family_name", "patient__given_name", "patient__phone"]
SESSION_PATIENT_SEARCH = [f"session__{field}" for field in PATIENT_SEARCH]


class LoggedReadsAdmin(admin.ModelAdmin):
    """A GET of an entry's page shows clinical content: log it as a read."""

    def patient_of(self, obj: Any) -> Patient:
        return obj.session.patient

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, object_id)
            if obj is not None:
                log_access(
                    user=staff_user(request),
                    patient=self.patient_of(obj),
                    obj=obj,
                    action=AccessAction.READ,
                    ip=client_ip(request),
                    description="admin",
                )
        return response


class AllergyInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Allergies are the doctors' to edit, on the chart (through the service)."""

    model = Allergy
    fields = readonly_fields = ("substance", "severity", "reaction", "recorded_by", "recorded_at")
    extra = 0


class RecordChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RecordChange
    fields = readonly_fields = ("changed_at", "changed_by", "changes")
    extra = 0


@admin.register(MedicalRecord)
class MedicalRecordAdmin(LoggedReadsAdmin):
    inlines = [AllergyInline, RecordChangeInline]
    list_display = ["patient", "blood_type", "updated_at", "updated_by"]
    list_select_related = ["patient", "updated_by"]
    search_fields = PATIENT_SEARCH
    fields = ["patient", *sorted(RECORD_FIELDS), "updated_at", "updated_by"]
    readonly_fields = ["updated_at", "updated_by"]

    def patient_of(self, obj):
        return obj.patient

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ["patient", *self.readonly_fields]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        # Through the service: its rule, its validation and its audit entry.
        fields = {name: form.cleaned_data[name] for name in RECORD_FIELDS}
        record = update_medical_record(
            patient=obj.patient, by=staff_user(request), ip=client_ip(request), **fields
        )
        obj.pk = record.pk
        obj._state.adding = False


class AddendumInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Addendum
    fields = readonly_fields = ("created_at", "author", "text")
    extra = 0


@admin.register(ClinicalNote)
class ClinicalNoteAdmin(ReadOnlyAdminMixin, LoggedReadsAdmin):
    list_display = ["session", "author", "signed_at", "signed_by"]
    list_filter = [("signed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["session__patient", "session__doctor", "author", "signed_by"]
    search_fields = SESSION_PATIENT_SEARCH
    inlines = [AddendumInline]


class PrescriptionItemInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PrescriptionItem
    fields = readonly_fields = PrescriptionItem.CONTENT_FIELDS
    extra = 0


@admin.register(Prescription)
class PrescriptionAdmin(ReadOnlyAdminMixin, LoggedReadsAdmin):
    list_display = ["__str__", "session", "created_by", "created_at", "signed_at"]
    list_filter = [("signed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["session__patient", "session__doctor", "created_by"]
    search_fields = SESSION_PATIENT_SEARCH
    inlines = [PrescriptionItemInline]


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Nobody adds, changes or deletes an entry, superusers included."""

    list_display = ["at", "user", "action", "patient", "object_type", "object_id", "ip_address"]
    list_filter = ["action", "user", ("at", admin.DateFieldListFilter)]
    date_hierarchy = "at"
    search_fields = PATIENT_SEARCH
    list_select_related = ["user", "patient"]


@admin.register(EmergencyAccess)
class EmergencyAccessAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The manager's review of emergency accesses: who opened which patient's chart
    without being their doctor, when, from where and why. Its view permission is the
    Managers role's alone; doctors, who read the access log, do not get this."""

    list_display = ["at", "user", "patient", "reason", "ip_address"]
    list_filter = ["user", ("at", admin.DateFieldListFilter)]
    date_hierarchy = "at"
    search_fields = [*PATIENT_SEARCH, "user__username", "user__last_name", "reason"]
    list_select_related = ["user", "patient"]
    fields = ["at", "user", "patient", "reason", "ip_address"]
