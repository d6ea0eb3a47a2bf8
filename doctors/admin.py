from __future__ import annotations

from collections import defaultdict

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from .models import (
    Doctor,
    Specialty,
    TimeOff,
    Weekday,
    WorkingHours,
    first_overlap,
    overlap_message,
)


class WorkingHoursFormSet(BaseInlineFormSet):
    """Checks the hours as submitted together: two new rows may overlap each other
    before either is in the database, which the model's own check cannot see."""

    def clean(self) -> None:
        super().clean()
        ranges_by_day = defaultdict(list)
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not data.get("starts") or not data.get("ends"):
                continue
            ranges_by_day[data["weekday"]].append((data["starts"], data["ends"]))
        for weekday, ranges in ranges_by_day.items():
            clash = first_overlap(ranges)
            if clash:
                raise ValidationError(overlap_message(str(Weekday(weekday).label), clash))


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    formset = WorkingHoursFormSet
    extra = 1


class TimeOffInline(admin.TabularInline):
    model = TimeOff
    extra = 0


@admin.register(Doctor)
class DoctorAdmin(admin.ModelAdmin):
    list_display = [
        "display_name",
        "given_name",
        "specialty",
        "phone",
        "email",
        "is_active",
        "bookable_online",
    ]
    list_filter = ["is_active", "bookable_online", "specialty"]
    search_fields = ["family_name", "given_name", "email", "user__username"]
    list_select_related = ["specialty"]
    autocomplete_fields = ["user"]
    inlines = [WorkingHoursInline, TimeOffInline]


@admin.register(Specialty)
class SpecialtyAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(TimeOff)
class TimeOffAdmin(admin.ModelAdmin):
    list_display = ["doctor", "starts_at", "ends_at", "reason"]
    list_filter = ["doctor"]
    date_hierarchy = "starts_at"
    list_select_related = ["doctor"]
