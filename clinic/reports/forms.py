"""What a manager picks on a report page: the period (a preset or two days), how
to group, and the filters that apply to that report."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from clinic.kernel.periods import MAX_DAYS, PRESETS, Period, preset_period
from doctors.models import Doctor
from payments.methods import all_methods
from scheduling.models import Service

OLDER_THAN = [
    ("0", _("Any age")),
    ("30", _("Over 30 days")),
    ("60", _("Over 60 days")),
    ("90", _("Over 90 days")),
]

# The days a report can be asked about: the clinic keeps no records before
# EARLIEST, and later than LATER_YEARS from today is a typing mistake (dates near
# year 9999 cannot even be turned into a day's bounds).
EARLIEST = date(1900, 1, 1)
LATER_YEARS = 5


class ReportForm(forms.Form):
    preset = forms.ChoiceField(label=_("Period"), choices=PRESETS, required=False)
    first = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    last = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    as_of = forms.DateField(
        label=_("As of"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    older_than = forms.ChoiceField(label=_("Owed for"), choices=OLDER_THAN, required=False)
    group = forms.ChoiceField(label=_("By"), required=False)
    page = forms.CharField(required=False, max_length=7, widget=forms.HiddenInput)
    doctor = forms.ModelChoiceField(
        label=_("Doctor"),
        queryset=Doctor.objects.all(),
        required=False,
        empty_label=_("Every doctor"),
    )
    service = forms.ModelChoiceField(
        label=_("Service"),
        queryset=Service.objects.all(),
        required=False,
        empty_label=_("Every service"),
    )
    method = forms.ChoiceField(label=_("Method"), required=False)

    def __init__(
        self,
        *args: Any,
        today: date,
        fields: tuple[str, ...],
        groups: dict[str, Any] | None,
        default_preset: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.default_preset = default_preset
        # The period box names the period shown, also when the address names none
        # (the dashboard's links, a first visit).
        if "preset" in self.fields:
            self.fields["preset"].initial = default_preset
            if self.is_bound and not self.data.get("preset") and not self.data.get("first"):
                data = self.data.copy() if isinstance(self.data, QueryDict) else dict(self.data)
                data["preset"] = default_preset
                self.data = data
        for name in list(self.fields):
            if name not in fields:
                del self.fields[name]
        group, method = self.fields.get("group"), self.fields.get("method")
        if isinstance(group, forms.ChoiceField) and groups:
            group.choices = list(groups.items())
        if isinstance(method, forms.ChoiceField):
            method.choices = [("", _("Every method"))] + [
                (key, method.label) for key, method in all_methods().items()
            ]

    def _in_range(self, name: str) -> date | None:
        value: date | None = self.cleaned_data.get(name)
        latest = self.today + timedelta(days=366 * LATER_YEARS)
        if value is not None and not EARLIEST <= value <= latest:
            raise forms.ValidationError(
                _("Choose a day between %(earliest)s and %(latest)s."),
                code="date_range",
                params={"earliest": EARLIEST.isoformat(), "latest": latest.isoformat()},
            )
        return value

    def clean_first(self) -> date | None:
        return self._in_range("first")

    def clean_last(self) -> date | None:
        return self._in_range("last")

    def clean_as_of(self) -> date | None:
        return self._in_range("as_of")

    def clean_page(self) -> int:
        """A page number; anything else (typed into the address) is the first page."""
        value = self.cleaned_data.get("page") or ""
        return int(value) if value.isdigit() and int(value) > 0 else 1

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if "preset" not in self.fields:
            return data
        preset = data.get("preset") or self.default_preset
        data["preset"] = preset
        if preset != "custom":
            data["period"] = preset_period(preset, self.today)
            return data
        if "first" in self.errors or "last" in self.errors:
            return data  # Said on the field already.
        first, last = data.get("first"), data.get("last")
        if first is None or last is None:
            raise forms.ValidationError(_("Choose the first and the last day of the period."))
        if last < first:
            raise forms.ValidationError(_("The last day comes before the first."))
        if (last - first).days >= MAX_DAYS:
            raise forms.ValidationError(_("Choose at most five years."))
        data["period"] = Period(first, last)
        return data
