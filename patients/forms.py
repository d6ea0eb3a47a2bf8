from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import Patient


class PatientForm(forms.ModelForm):
    sms_opt_out = forms.BooleanField(
        label=_("Patient has opted out of SMS"),
        required=False,
        help_text=_("No appointment reminders or payment links will be texted."),
    )
    # The language of the patient's texts and public pages; empty is the clinic's own.
    preferred_language = forms.ChoiceField(
        label=_("Preferred language"),
        choices=[("", _("The clinic's language")), *settings.LANGUAGES],
        required=False,
        help_text=_("Their text messages and payment page are in this language."),
    )

    class Meta:
        model = Patient
        fields = [
            "given_name",
            "family_name",
            "date_of_birth",
            "sex",
            "phone",
            "email",
            "address",
            "national_id",
            "preferred_language",
            "notes",
        ]
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "address": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sms_opt_out"].initial = self.instance.sms_opt_out
