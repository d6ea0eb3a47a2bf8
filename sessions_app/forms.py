from __future__ import annotations

from django import forms

from scheduling.models import Service


class PerformedServiceForm(forms.Form):
    service = forms.ModelChoiceField(queryset=Service.objects.active())
    quantity = forms.IntegerField(min_value=1, max_value=99, initial=1)


PerformedServiceFormSet = forms.formset_factory(
    PerformedServiceForm, extra=0, min_num=1, validate_min=True, can_delete=True
)


def performed_services(formset) -> list[tuple[Service, int]]:
    """The (service, quantity) pairs a valid formset holds, for complete_session."""
    return [
        (form.cleaned_data["service"], form.cleaned_data["quantity"])
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]
