"""The medical record's history: what a change to it changed, field by field
(old → new), and how the chart shows it. `records.services.update_medical_record`
computes the changes and writes them as one `RecordChange`; the chart reads them
back through `describe`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from .models import Allergy, MedicalRecord, RecordChange

# The record's own fields that its history follows.
TRACKED_FIELDS = (
    "no_known_allergies",
    "chronic_conditions",
    "current_medications",
    "blood_type",
    "notes",
)
# A change's "field" for an allergy row, and for the free text the allergies were
# kept in before they became rows (records migration 0006).
ALLERGY = "allergy"
FORMER_TEXT = "allergies_text"


@dataclass(frozen=True)
class WantedAllergy:
    """An allergy as the doctor wants it recorded."""

    substance: str
    severity: str
    reaction: str

    @property
    def key(self) -> str:
        return self.substance.casefold()


@dataclass(frozen=True)
class AllergyPlan:
    """What saving the wanted allergies does to the stored ones."""

    added: list[WantedAllergy]
    changed: list[tuple[Allergy, WantedAllergy]]
    removed: list[Allergy]


def field_changes(before: Mapping[str, Any], record: MedicalRecord) -> list[dict[str, Any]]:
    """The record's tracked fields whose value differs from `before`."""
    return [
        {"field": name, "old": before[name], "new": getattr(record, name)}
        for name in TRACKED_FIELDS
        if before[name] != getattr(record, name)
    ]


def snapshot(record: MedicalRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in TRACKED_FIELDS}


def plan_allergies(stored: Sequence[Allergy], wanted: Sequence[WantedAllergy]) -> AllergyPlan:
    """Match the wanted allergies to the stored ones by substance (whatever its
    case): a new substance is added, a known one with another severity or reaction
    is changed (its spelling too), a stored one not wanted is removed."""
    by_key = {allergy.substance.casefold(): allergy for allergy in stored}
    added, changed = [], []
    for item in wanted:
        current = by_key.pop(item.key, None)
        if current is None:
            added.append(item)
        elif (current.substance, current.severity, current.reaction) != (
            item.substance,
            item.severity,
            item.reaction,
        ):
            changed.append((current, item))
    return AllergyPlan(added=added, changed=changed, removed=list(by_key.values()))


def allergy_changes(plan: AllergyPlan) -> list[dict[str, Any]]:
    def described(item: WantedAllergy) -> str:
        return Allergy(
            substance=item.substance, severity=item.severity, reaction=item.reaction
        ).describe()

    return [
        *({"field": ALLERGY, "old": "", "new": described(item)} for item in plan.added),
        *(
            {"field": ALLERGY, "old": current.describe(), "new": described(item)}
            for current, item in plan.changed
        ),
        *({"field": ALLERGY, "old": allergy.describe(), "new": ""} for allergy in plan.removed),
    ]


@dataclass(frozen=True)
class ChangeLine:
    label: str
    old: str
    new: str


def describe(change: RecordChange) -> list[ChangeLine]:
    """The lines the chart shows for one change: what, from, to."""
    return [_line(item) for item in change.changes]


def _line(item: Mapping[str, Any]) -> ChangeLine:
    name = item.get("field", "")
    if name == ALLERGY:
        label = _("Allergy")
    elif name == FORMER_TEXT:
        label = _("Allergies (former free text)")
    elif name in TRACKED_FIELDS:
        field = MedicalRecord._meta.get_field(name)
        label = str(getattr(field, "verbose_name", name)).capitalize()
    else:
        label = name
    return ChangeLine(label=label, old=_shown(item.get("old")), new=_shown(item.get("new")))


def _shown(value: Any) -> str:
    if value is True or value == "yes":
        return _("yes")
    if value is False or value == "no":
        return _("no")
    return "" if value is None else str(value)
