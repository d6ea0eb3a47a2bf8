"""Forms for the doctors' pages. They parse input only: pages pass the cleaned
data to `records.services` (`write_note`, `add_prescription`,
`replace_prescription_items`), which own the rules. A signed note or prescription
is refused here too, so a page never offers to save what the service will refuse."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.utils.translation import gettext_lazy as _

from .emergency import EmergencyReason
from .models import ClinicalNote, Prescription, PrescriptionItem
from .services import EMERGENCY_DETAILS_MAX_LENGTH
from .vitals import VitalsInClinicUnits


class ClinicalNoteForm(VitalsInClinicUnits, forms.ModelForm):
    class Meta:
        model = ClinicalNote
        fields = list(ClinicalNote.CONTENT_FIELDS)
        widgets = {
            name: forms.Textarea(attrs={"rows": 3})
            for name in ("subjective", "objective", "assessment", "plan")
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.is_signed:
            for field in self.fields.values():
                field.disabled = True

    def clean(self) -> dict[str, Any]:
        signed = _signed(ClinicalNote, self.instance)
        if signed is not None:
            raise ValidationError(signed.lock_message(), code="locked")
        return super().clean() or {}


class PrescriptionItemForm(forms.ModelForm):
    def has_changed(self) -> bool:
        # A new line with no medication is the page's spare blank line, left unused,
        # even though its route select still submits a default.
        if self.instance.pk is None:
            return bool(self.data.get(self.add_prefix("medication"), "").strip())
        return super().has_changed()


class BasePrescriptionItemFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        signed = _signed(Prescription, self.instance)
        if signed is not None:
            raise ValidationError(signed.lock_message(), code="locked")
        super().clean()

    def items(self) -> list[dict[str, Any]]:
        """The items to save, as `replace_prescription_items` takes them."""
        return [
            {name: form.cleaned_data[name] for name in PrescriptionItem.CONTENT_FIELDS}
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]


PrescriptionItemFormSet = inlineformset_factory(
    Prescription,
    PrescriptionItem,
    form=PrescriptionItemForm,
    formset=BasePrescriptionItemFormSet,
    fields=list(PrescriptionItem.CONTENT_FIELDS),
    extra=1,
    can_delete=True,
)


def _signed(model, instance):
    """The stored row if it is signed: a page opened before the session was
    completed must not save over the signature."""
    if instance.pk is None:
        return None
    return model.objects.filter(pk=instance.pk, signed_at__isnull=False).first()


class EmergencyAccessForm(forms.Form):
    """Why a doctor opens the chart of a patient who is not theirs. The page passes
    it to `records.services.break_the_glass`, which owns the rule (a reason, with
    details for "Other")."""

    reason = forms.ChoiceField(
        label=_("Why do you need this chart?"),
        choices=EmergencyReason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a reason.")},
    )
    details = forms.CharField(
        label=_("Details"),
        required=False,
        max_length=EMERGENCY_DETAILS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required for “Other”. Helps the manager who reviews this access."),
    )
