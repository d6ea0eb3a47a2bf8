"""Emergency access ("break the glass", DESIGN.md section 6): a doctor who opens the
chart of a patient who is not theirs states why first. The reason is written to the
access log by `records.services.break_the_glass`; the grant it returns is kept here,
in the person's session, keyed by patient, so it lasts for that sign-in only: signing
out empties the session, and signing in again drops every grant
(`records.receivers`), so a new sign-in asks again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.sessions.backends.base import SessionBase
from django.db import models
from django.utils.translation import gettext_lazy as _

SESSION_KEY = "records.emergency_access"


class EmergencyReason(models.TextChoices):
    """The reasons a doctor most often has; "Other" needs details."""

    MEDICAL_EMERGENCY = "medical_emergency", _("Medical emergency")
    COVERING = "covering", _("Covering for the patient's doctor")
    REFERRAL = "referral", _("Referral or second opinion")
    RESULTS = "results", _("Test results or a call about the patient")
    OTHER = "other", _("Other")


@dataclass(frozen=True)
class EmergencyGrant:
    """A doctor's stated reason to read one patient's clinical content, as logged."""

    user_id: int
    patient_id: int
    reason: str
    at: datetime


def granted(session: SessionBase, *, user_id: int, patient_id: int) -> EmergencyGrant | None:
    """The grant this sign-in holds for the patient's chart, if any. A grant is the
    user's own: a session only ever holds one user's, as signing in as someone else
    starts a new session, but the check costs nothing."""
    stored = session.get(SESSION_KEY, {}).get(str(patient_id))
    if not stored or stored.get("user") != user_id:
        return None
    return EmergencyGrant(
        user_id=user_id,
        patient_id=patient_id,
        reason=stored["reason"],
        at=datetime.fromisoformat(stored["at"]),
    )


def remember(session: SessionBase, grant: EmergencyGrant) -> None:
    """Keep the grant for the rest of the sign-in."""
    grants = dict(session.get(SESSION_KEY, {}))
    grants[str(grant.patient_id)] = {
        "user": grant.user_id,
        "reason": grant.reason,
        "at": grant.at.isoformat(),
    }
    # A new dict, so the session knows it changed and saves it.
    session[SESSION_KEY] = grants


def forget_all(session: SessionBase) -> None:
    """Drop every grant: a new sign-in states its reasons again."""
    session.pop(SESSION_KEY, None)
