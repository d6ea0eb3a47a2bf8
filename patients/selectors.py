"""Reads of the patients app: the one search every patient picker uses (the patients
list, the booking and walk-in pages, the API) and the duplicate check.

Names are compared through patients.normalise, in Python for what is typed and in
the stored `search_text` column for what is registered, so case, accents,
apostrophes and hyphens never matter. On PostgreSQL the search also forgives a typo
("siobahn") and ranks the closest names first, with a trigram index on that column;
on SQLite every typed word must be part of the name, in name order.
"""

from __future__ import annotations

import re
from datetime import date

import phonenumbers
from django.conf import settings
from django.contrib.postgres.search import TrigramWordSimilarity
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, FloatField, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.forms import DateField
from django.utils import timezone

from clinic.kernel.dates import clinic_zone

from .models import EARLIEST_BIRTH, Patient
from .normalise import name_key, normalise

# A query made of digits and phone punctuation is a phone number (or part of one).
PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{3,}$")
# A word that may be a date: digits with / - or . between them (1985-03-14, 3/14/1985).
DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$")
# Words shorter than this must be part of the name: "an" is like far too much.
FUZZY_MIN_LENGTH = 3
# How close a typed word must be to part of a name (pg_trgm word similarity) to
# match it; set on every PostgreSQL connection (patients.apps). Low enough for one
# slip in a short name ("darcey", "satnos" for Santos); near misses are only
# offered when nobody has every typed word, which keeps strangers out.
WORD_SIMILARITY_THRESHOLD = 0.4
NAME_ORDER = ("family_name", "given_name", "pk")


def search_patients(*, query: str = "") -> QuerySet[Patient]:
    """Patients matching what reception typed, merged-away patients left out.

    A phone number (whole or any part of it) or a national ID; or a name, in any
    order and form ("siobhan darcy", "D'Arcy, Siobhán"), every word a part of the
    name, and optionally a date of birth among the words ("darcy 1985-03-14", or
    the date alone). On PostgreSQL, when no name has every word, near misses are
    found instead ("siobahn"), and the closest names come first; elsewhere, and for
    an empty query, patients come by name.
    """
    patients = Patient.objects.filter(merged_into__isnull=True)
    # PostgreSQL refuses NUL in text parameters; no name or number contains one.
    query = query.replace("\x00", "").strip()
    if not query:
        return patients.order_by(*NAME_ORDER)
    dates, words = _dates_and_words(query)
    if not dates and PHONE_LIKE.match(query):
        matches = _phone_match(query) | Q(national_id__iexact=query)
        return patients.filter(matches).order_by(*NAME_ORDER)
    names = normalise(" ".join(words)).split()
    if not names and not dates:
        # Only punctuation, or an ID such as "A-1": nothing to compare names with.
        return patients.filter(national_id__iexact=query).order_by(*NAME_ORDER)
    for born in dates:
        patients = patients.filter(date_of_birth=born)
    if not names:
        return patients.order_by(*NAME_ORDER)
    same_id = Q(national_id__iexact=query)
    found = patients.filter(_every_word(names, Q(), fuzzy=False) | same_id)
    if connection.vendor != "postgresql":
        return found.order_by(*NAME_ORDER)
    if not found.exists():
        # Nobody has every word in their name: forgive a slip ("siobahn").
        found = patients.filter(_every_word(names, Q(), fuzzy=True) | same_id)
    return _ranked(found, names)


def likely_duplicates(
    *, given_name: str, family_name: str, date_of_birth: date | None, phone: str = ""
) -> QuerySet[Patient]:
    """Patients who are probably the one being registered: the same name once
    normalised ("Siobhan Darcy" is "Siobhán D'Arcy") and the same date of birth,
    or the same phone number (E.164)."""
    same = Q(pk__in=[])
    if date_of_birth is not None:
        key = name_key(given_name=given_name, family_name=family_name)
        same |= Q(search_text=key, date_of_birth=date_of_birth)
    if phone:
        same |= Q(phone=phone)
    return Patient.objects.filter(same, merged_into__isnull=True).order_by(*NAME_ORDER)


def _dates_and_words(query: str) -> tuple[list[date], list[str]]:
    """The typed words that are plausible dates of birth, and the others."""
    dates, words = [], []
    for word in query.split():
        born = _as_date(word)
        if born is None:
            words.append(word)
        else:
            dates.append(born)
    return dates, words


def _as_date(word: str) -> date | None:
    """`word` read as a date in the forms the clinic's locale takes (ISO first),
    when it could be someone's birthday."""
    if not DATE_LIKE.match(word):
        return None
    try:
        born = DateField().to_python(word.replace(".", "/"))
    except ValidationError:
        return None
    if born is None or not EARLIEST_BIRTH <= born <= timezone.localdate(timezone=clinic_zone()):
        return None
    return born


def _every_word(names: list[str], match: Q, *, fuzzy: bool) -> Q:
    """Each typed (normalised) word is part of the name or, `fuzzy` (PostgreSQL),
    close to a part of it."""
    for word in names:
        word_match = Q(search_text__contains=word)
        if fuzzy and len(word) >= FUZZY_MIN_LENGTH:
            word_match |= Q(search_text__trigram_word_similar=word)
        match &= word_match
    return match


def _ranked(patients: QuerySet[Patient], names: list[str]) -> QuerySet[Patient]:
    """The closest names first: the sum of each word's similarity to the name (a
    word that is a whole word of the name scores 1)."""
    rank = sum(
        (TrigramWordSimilarity(word, F("search_text")) for word in names),
        start=Value(0.0),
    )
    return patients.annotate(rank=Coalesce(rank, Value(0.0), output_field=FloatField())).order_by(
        "-rank", *NAME_ORDER
    )


def _phone_match(query: str) -> Q:
    """A whole number in the clinic's region matches exactly; a fragment (the last
    digits a patient reads out, or any part) matches anywhere in the stored E.164
    number (case-insensitive only to use the trigram index of migration 0003)."""
    try:
        number = phonenumbers.parse(query, settings.CLINIC_PHONE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        return Q(phone=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return Q(phone__icontains=re.sub(r"\D", "", query))
