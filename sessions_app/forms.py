from __future__ import annotations

from django import forms

from scheduling.models import Service


class PerformedServiceForm(forms.Form):
    service = forms.ModelChoiceField(queryset=Service.objects.active())
    quantity = forms.IntegerField(min_value=1, max_value=99, initial=1)


# Lines of one visit's bill; `absolute_max` keeps a forged TOTAL_FORMS from building
# thousands of forms.
PERFORMED_MAX_LINES = 30

PerformedServiceFormSet = forms.formset_factory(
    PerformedServiceForm,
    extra=0,
    min_num=1,
    validate_min=True,
    can_delete=True,
    max_num=PERFORMED_MAX_LINES,
    absolute_max=PERFORMED_MAX_LINES,
    validate_max=True,
)


def performed_services(formset) -> list[tuple[Service, int]]:
    """The (service, quantity) pairs a valid formset holds, for complete_session."""
    return [
        (form.cleaned_data["service"], form.cleaned_data["quantity"])
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]
