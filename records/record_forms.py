"""The doctor's form of the medical record: the record's fields and its allergies
(a formset, a row each; the page adds rows without a round trip, static/js/
allergy-rows.js). They parse input only; `records.services.update_medical_record`
owns the rules (who may, "no known allergies" against a recorded allergy, each
substance once) and the history."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .history import TRACKED_FIELDS
from .models import Allergy, MedicalRecord


class MedicalRecordForm(forms.ModelForm):
    class Meta:
        model = MedicalRecord
        fields = list(TRACKED_FIELDS)
        widgets = {
            name: forms.Textarea(attrs={"rows": 2})
            for name in ("chronic_conditions", "current_medications", "notes")
        }


class AllergyForm(forms.ModelForm):
    class Meta:
        model = Allergy
        fields = list(Allergy.CONTENT_FIELDS)
        widgets = {"reaction": forms.TextInput(attrs={"placeholder": _("e.g. rash, anaphylaxis")})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A blank row is a spare one, left unused; the substance makes a row.
        self.fields["substance"].required = False
        self.empty_permitted = True
        self.use_required_attribute = False

    def has_changed(self) -> bool:
        return bool(self.data.get(self.add_prefix("substance"), "").strip()) or (
            self.instance.pk is not None and super().has_changed()
        )

    def _post_clean(self) -> None:
        # A row whose substance was cleared is a row removed, not an invalid one.
        if (self.cleaned_data.get("substance") or "").strip():
            super()._post_clean()  # type: ignore[misc]  # Django's, not in the stubs


class BaseAllergyFormSet(forms.BaseModelFormSet):
    def clean(self) -> None:
        super().clean()
        seen: set[str] = set()
        for form in self.forms:
            substance = " ".join((form.cleaned_data.get("substance") or "").split())
            if not substance or form.cleaned_data.get("DELETE"):
                continue
            if substance.casefold() in seen:
                raise ValidationError(
                    _("%(substance)s is listed twice."), params={"substance": substance}
                )
            seen.add(substance.casefold())

    def add_fields(self, form: forms.ModelForm, index: int | None) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = _("Remove")

    def validate_unique(self) -> None:
        # Each substance once is checked above, whatever its case; the rows are
        # saved by the service, not by this formset.
        return None

    def allergies(self) -> list[dict[str, Any]]:
        """The allergies to keep, as `update_medical_record` takes them."""
        return [
            {name: form.cleaned_data[name] for name in Allergy.CONTENT_FIELDS}
            for form in self.forms
            if (form.cleaned_data.get("substance") or "").strip()
            and not form.cleaned_data.get("DELETE")
        ]


ALLERGIES_MAX = 50

AllergyFormSet: type[BaseAllergyFormSet] = forms.modelformset_factory(  # type: ignore[assignment]
    Allergy,
    form=AllergyForm,
    formset=BaseAllergyFormSet,
    fields=list(Allergy.CONTENT_FIELDS),
    extra=1,
    can_delete=True,
    # `absolute_max` keeps a forged TOTAL_FORMS from building thousands of forms.
    max_num=ALLERGIES_MAX,
    absolute_max=ALLERGIES_MAX,
    validate_max=True,
)
