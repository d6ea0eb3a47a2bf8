from __future__ import annotations

from django.db import transaction

from .models import Patient


@transaction.atomic
def save_patient(*, patient: Patient, sms_opt_out: bool) -> Patient:
    """Register a new patient or save changes to one.

    The patient is validated in full (phone in E.164, national ID unique when
    given, date of birth not in the future) before anything is written, and the
    SMS opt-out keeps the time the patient first withdrew consent.
    """
    patient.set_sms_opt_out(sms_opt_out)
    patient.full_clean()
    patient.save()
    return patient
