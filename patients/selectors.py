from __future__ import annotations

import re

import phonenumbers
from django.conf import settings
from django.db.models import Q, QuerySet

from .models import Patient

# A query made of digits and phone punctuation is a phone number (or part of one).
PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{3,}$")


def search_patients(*, query: str = "") -> QuerySet[Patient]:
    """Patients matching what reception typed: a phone number (whole or in part), a
    national ID, or names. Every word of a name query must match a given or family
    name, so "ann smi" finds Anna Smith."""
    patients = Patient.objects.order_by("family_name", "given_name", "pk")
    # PostgreSQL refuses NUL in text parameters; no name or number contains one.
    query = query.replace("\x00", "").strip()
    if not query:
        return patients
    if PHONE_LIKE.match(query):
        return patients.filter(_phone_match(query) | Q(national_id__iexact=query))
    name_match = Q()
    for word in query.split():
        name_match &= Q(given_name__icontains=word) | Q(family_name__icontains=word)
    return patients.filter(name_match | Q(national_id__iexact=query))


def _phone_match(query: str) -> Q:
    """A whole number in the clinic's region matches exactly; a fragment (the last
    digits a patient reads out) matches anywhere in the stored E.164 number."""
    try:
        number = phonenumbers.parse(query, settings.CLINIC_PHONE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        return Q(phone=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return Q(phone__contains=re.sub(r"\D", "", query))
