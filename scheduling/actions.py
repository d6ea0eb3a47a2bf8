"""The buttons of the quick actions that the templates draw from this registry, on
an appointment's card (day view) and on its page. The older actions (confirm,
check in, no-show, move, cancel) still have buttons written out in those templates;
cancel, which asks a reason, has its own view (views.cancel). A new action needs an
entry here, its service in views.appointment.QUICK_ACTIONS and its step in
models.offered_actions, and no template change."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class ActionButton:
    label: Promise
    # Its accessible name: the label and whose appointment it acts on.
    name: Promise
    style: str = "outline-secondary"
    # Asked before the action is taken (on the cards); "" asks nothing.
    confirm: Promise | str = ""


@dataclass(frozen=True)
class Button:
    """A button ready to draw: the registry's words for one appointment."""

    action: str
    label: str
    name: str
    url: str
    style: str
    confirm: str


BUTTONS: dict[str, ActionButton] = {
    "undo-check-in": ActionButton(
        label=_("Undo check-in"),
        name=_("Undo check-in of %(patient)s"),
        confirm=_("Undo the check-in of %(patient)s? Their doctor is told they are not waiting."),
    ),
}


def listed_buttons(offered: Iterable[str], *, url: str, patient_name: str) -> tuple[Button, ...]:
    """The buttons of the offered actions that this registry draws, in its order,
    for the appointment at `url` (each action's page lives under it:
    scheduling/urls.py) of the patient named `patient_name`."""
    offered = frozenset(offered)
    names = {"patient": patient_name}
    return tuple(
        Button(
            action=action,
            label=str(button.label),
            name=str(button.name) % names,
            url=f"{url}{action}/",
            style=button.style,
            confirm=str(button.confirm) % names if button.confirm else "",
        )
        for action, button in BUTTONS.items()
        if action in offered
    )
