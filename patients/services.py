from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

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
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError as error:
        # Two clerks registering the same national ID at once: both pass
        # full_clean, the unique index stops the second.
        if not patient.national_id:
            raise
        raise ValidationError(
            {"national_id": ["Another patient already has this national ID."]}
        ) from error
    return patient
