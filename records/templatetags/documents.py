"""The documents on a patient's chart, as a part of any page that shows them (the
chart, reception's document list): `{% load documents %}{% patient_documents patient %}`.
Lists only what the signed-in user may see (`records.documents.patient_documents`)."""

from __future__ import annotations

from typing import Any

from django import template

from patients.models import Patient

from .. import documents, emergency

register = template.Library()


@register.inclusion_tag("records/partials/patient_documents.html", takes_context=True)
def patient_documents(context: template.Context, patient: Patient) -> dict[str, Any]:
    """The patient's documents the user may see, with links to open those they may
    open (a withdrawn one only for managers), to withdraw (managers) and to add one.
    Two queries at most, however many documents."""
    request = context["request"]
    user = request.user
    if not documents.may_handle_documents(user):
        return {"shown": False}
    grant = emergency.granted(request.session, user_id=user.pk, patient_id=patient.pk)
    listed = documents.patient_documents(patient=patient, user=user, emergency=grant)
    may_withdraw = user.has_perm(documents.WITHDRAW_PERMISSION)
    return {
        "shown": True,
        "patient": patient,
        "documents": listed,
        "may_withdraw": may_withdraw,
        "max_size": documents.max_size_display(),
    }
