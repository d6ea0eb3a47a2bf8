from __future__ import annotations

from django import forms

from .models import Patient


class PatientForm(forms.ModelForm):
    sms_opt_out = forms.BooleanField(
        label="Patient has opted out of SMS",
        required=False,
        help_text="No appointment reminders or payment links will be texted.",
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
