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
    class Meta:
        widgets = {"instructions": forms.Textarea(attrs={"rows": 2})}

    # What a person types into an item; the route select and the quantity always
    # submit something.
    TYPED_FIELDS = ("medication", "strength", "dose", "frequency", "duration", "instructions")

    def has_changed(self) -> bool:
        # A new line with nothing typed is a spare blank row, left unused; one
        # with anything typed is an item, validated as one (a dose without a
        # medication is an error shown by the item, not silently dropped).
        if self.instance.pk is None:
            return any(
                str(self.data.get(self.add_prefix(name), "")).strip() for name in self.TYPED_FIELDS
            )
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


PRESCRIPTION_MAX_ITEMS = 50

PrescriptionItemFormSet = inlineformset_factory(
    Prescription,
    PrescriptionItem,
    form=PrescriptionItemForm,
    formset=BasePrescriptionItemFormSet,
    fields=list(PrescriptionItem.CONTENT_FIELDS),
    extra=1,
    can_delete=True,
    # A prescription is a page or two, not a list without end; `absolute_max` keeps
    # a forged TOTAL_FORMS from building thousands of forms.
    max_num=PRESCRIPTION_MAX_ITEMS,
    absolute_max=PRESCRIPTION_MAX_ITEMS,
    validate_max=True,
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
