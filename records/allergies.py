"""The prescription's allergy check: which medications name a recorded allergy.

A warning, not a refusal: the doctor may know better (a tolerated drug, an old
entry), so the page shows the conflict by the item and asks for an explicit
"prescribe anyway" before signing. Names are compared as whole words, ignoring
case and accents ("Pénicilline" matches "penicilline V", "aspirin" does not match
"aspirinate"); drug classes ("penicillins" against amoxicillin) are beyond a
name match and stay the doctor's judgement."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_WORD = re.compile(r"\w+")


def _words(text: str) -> tuple[str, ...]:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return tuple(_WORD.findall(plain.casefold()))


def _contains(words: tuple[str, ...], part: tuple[str, ...]) -> bool:
    size = len(part)
    return size > 0 and any(words[i : i + size] == part for i in range(len(words) - size + 1))


def matching_allergies(medication: str, allergies: Iterable[str]) -> list[str]:
    """The recorded allergies that `medication` names, or that name it: an allergy
    "penicillin" matches "Penicillin V 250 mg", and a medication "Aspirin" matches
    the entry "aspirin (asthma)"."""
    drug = _words(medication)
    return [
        allergy
        for allergy in allergies
        if (words := _words(_name_of(allergy)))
        and (_contains(drug, words) or _contains(words, drug))
    ]


def _name_of(allergy: str) -> str:
    # What a free-text entry says after its name is the reaction or a remark:
    # "Penicillin (rash)", "Latex: hives".
    return re.split(r"[(:]", allergy, maxsplit=1)[0]


def allergy_conflicts(medications: Iterable[str], allergies: Iterable[str]) -> dict[str, list[str]]:
    """Each medication that matches a recorded allergy, with the allergies it
    matches; medications with no match are left out."""
    recorded = list(allergies)
    conflicts: dict[str, list[str]] = {}
    for medication in medications:
        matched = matching_allergies(medication, recorded)
        if matched:
            conflicts[medication] = matched
    return conflicts
