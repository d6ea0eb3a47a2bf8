from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import ngettext

from clinic.kernel.admin import ReadOnlyAdminMixin
from clinic.kernel.users import staff_user
from doctors import admin as doctors_admin
from doctors.admin import WorkingHoursFormSet
from doctors.models import Doctor, TimeOff, WorkingHours

from .models import Appointment, AppointmentChange, Service
from .rebooking import (
    Displaced,
    Leave,
    displaced_appointments,
    flag_for_rebooking,
    leave_of,
    release_restored,
)


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "code",
        "duration_minutes",
        "price",
        "is_active",
        "online_booking",
        "show_price_online",
    ]
    list_filter = ["is_active", "online_booking", "show_price_online"]
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


# --- The doctors' timetable, guarded ---------------------------------------------
#
# Managers edit a doctor's working hours and time off in the doctors' admin, which
# cannot see appointments (doctors sits below scheduling). Here its admin classes are
# registered again as subclasses whose forms ask scheduling what the change would
# strand: the save is refused, with the list, until the manager saves anyway; the
# appointments are then flagged for rebooking in the same transaction.

SAVE_ANYWAY = "_save_anyway"
TIMETABLE_FORM = "admin/scheduling/timetable_change_form.html"


class TimetableCheck:
    """What a form or formset of the timetable found: the appointments its change
    would strand (`displaced`), and whether it refused the save for them."""

    displaced: list[Displaced]
    refused: bool

    def check_timetable(self, data: Mapping[str, Any], displaced: list[Displaced]) -> None:
        self.displaced = displaced
        self.refused = bool(displaced) and SAVE_ANYWAY not in data
        if self.refused:
            raise ValidationError(
                ngettext(
                    "This change leaves %(count)s appointment outside the doctor's time: "
                    "nothing is saved yet. Move it first, or save anyway to flag it for "
                    "rebooking.",
                    "This change leaves %(count)s appointments outside the doctor's time: "
                    "nothing is saved yet. Move them first, or save anyway to flag them "
                    "for rebooking.",
                    len(displaced),
                )
                % {"count": len(displaced)},
                code="displaces_appointments",
            )


class GuardedTimeOffForm(TimetableCheck, forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        self.displaced, self.refused = [], False
        doctor, starts_at, ends_at = (data.get(name) for name in ("doctor", "starts_at", "ends_at"))
        if self.errors or not (doctor and starts_at and ends_at) or ends_at <= starts_at:
            return data  # The fields' own errors come first.
        others = TimeOff.objects.filter(doctor=doctor).exclude(pk=self.instance.pk)
        proposed = [*map(leave_of, others), Leave(starts_at, ends_at, data.get("reason", ""))]
        self.check_timetable(self.data, displaced_appointments(doctor=doctor, time_off=proposed))
        return data


class GuardedWorkingHoursFormSet(TimetableCheck, WorkingHoursFormSet):
    def clean(self) -> None:
        super().clean()
        self.displaced, self.refused = [], False
        if any(self.errors) or self.instance.pk is None:
            return  # A doctor being added has no appointments yet.
        proposed = [
            WorkingHours(doctor=self.instance, **{k: row[k] for k in ("weekday", "starts", "ends")})
            for row in _kept_rows(self)
        ]
        self.check_timetable(
            self.data, displaced_appointments(doctor=self.instance, hours=proposed)
        )


class GuardedTimeOffFormSet(TimetableCheck, BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        self.displaced, self.refused = [], False
        if any(self.errors) or self.instance.pk is None:
            return
        proposed = [
            Leave(row["starts_at"], row["ends_at"], row["reason"]) for row in _kept_rows(self)
        ]
        self.check_timetable(
            self.data, displaced_appointments(doctor=self.instance, time_off=proposed)
        )


def _kept_rows(formset: BaseInlineFormSet) -> list[dict[str, Any]]:
    """The rows the formset would leave: filled in and not deleted."""
    return [
        form.cleaned_data
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


class TimetableAdminMixin:
    """Shows what a refused save would strand, above the form, with "Save anyway";
    once saved, flags it for rebooking."""

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        checks = [context["adminform"].form, *(f.formset for f in context["inline_admin_formsets"])]
        refused = [check for check in checks if getattr(check, "refused", False)]
        context["displaced"] = _unique([item for check in refused for item in check.displaced])
        context["save_anyway"] = SAVE_ANYWAY
        return super().render_change_form(request, context, *args, **kwargs)  # type: ignore[misc]

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: list, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)  # type: ignore[misc]
        found = [item for check in (form, *formsets) for item in getattr(check, "displaced", [])]
        flags = flag_for_rebooking(displaced=_unique(found), by=staff_user(request))
        self.release(request, doctors_of(form))
        if flags:
            self.message_user(  # type: ignore[attr-defined]
                request,
                ngettext(
                    "%(count)s appointment is flagged for rebooking: reception sees it on "
                    "the rebooking list.",
                    "%(count)s appointments are flagged for rebooking: reception sees them "
                    "on the rebooking list.",
                    len(flags),
                )
                % {"count": len(flags)},
                messages.WARNING,
            )

    def release(self, request: HttpRequest, doctors: set[Doctor]) -> None:
        """Clears the flags of appointments whose time the doctors have again."""
        released = sum(
            release_restored(doctor=doctor, by=staff_user(request)) for doctor in doctors
        )
        if released:
            self.message_user(  # type: ignore[attr-defined]
                request,
                ngettext(
                    "%(count)s appointment no longer needs rebooking: the doctor has its "
                    "time again.",
                    "%(count)s appointments no longer need rebooking: the doctor has their "
                    "time again.",
                    released,
                )
                % {"count": released},
                messages.INFO,
            )


def doctors_of(form: forms.ModelForm) -> set[Doctor]:
    """The doctors whose timetable the form changed: the doctor of the page, or of
    the time off (before and after, when it moved to another doctor)."""
    instance = form.instance
    if isinstance(instance, Doctor):
        return {instance}
    doctors = {instance.doctor}
    if form.initial.get("doctor") not in (None, instance.doctor.pk):
        doctors |= set(Doctor.objects.filter(pk=form.initial["doctor"]))
    return doctors


def _unique(displaced: list[Displaced]) -> list[Displaced]:
    seen: dict[int, Displaced] = {}
    for item in displaced:
        seen.setdefault(item.appointment.pk, item)
    return sorted(seen.values(), key=lambda item: (item.appointment.starts_at, item.appointment.pk))


class GuardedWorkingHoursInline(doctors_admin.WorkingHoursInline):
    formset = GuardedWorkingHoursFormSet


class GuardedTimeOffInline(doctors_admin.TimeOffInline):
    formset = GuardedTimeOffFormSet


class GuardedDoctorAdmin(TimetableAdminMixin, doctors_admin.DoctorAdmin):
    inlines = [GuardedWorkingHoursInline, GuardedTimeOffInline]
    change_form_template = TIMETABLE_FORM


class GuardedTimeOffAdmin(TimetableAdminMixin, doctors_admin.TimeOffAdmin):
    form = GuardedTimeOffForm
    change_form_template = TIMETABLE_FORM

    def delete_model(self, request: HttpRequest, obj: TimeOff) -> None:
        super().delete_model(request, obj)
        self.release(request, {obj.doctor})

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TimeOff]) -> None:
        doctors = set(Doctor.objects.filter(time_off__in=queryset))
        super().delete_queryset(request, queryset)
        self.release(request, doctors)


admin.site.unregister(Doctor)
admin.site.register(Doctor, GuardedDoctorAdmin)
admin.site.unregister(TimeOff)
admin.site.register(TimeOff, GuardedTimeOffAdmin)
