"""Payments listens to sessions: a completed session opens its invoice in the same
transaction. A merge of two patients moves the merged one's invoices."""

from typing import Any

from django.dispatch import receiver
from django.utils.translation import gettext as _

from patients.models import Patient
from patients.signals import patient_merge_planned, patients_merged
from sessions_app.models import Session
from sessions_app.signals import session_completed

from .models import Invoice
from .services import open_invoice


@receiver(session_completed)
def open_invoice_of_completed_session(session: Session, **kwargs) -> None:
    open_invoice(session=session)


@receiver(patient_merge_planned, dispatch_uid="payments.plan_patient_merge")
def plan_patient_merge(sender: Any, *, merged: Patient, **kwargs: Any):
    return [(_("invoices"), Invoice.objects.filter(patient=merged).count())]


@receiver(patients_merged, dispatch_uid="payments.move_invoices_of_merged_patient")
def move_invoices(sender: Any, *, kept: Patient, merged: Patient, **kwargs: Any):
    """Invoices, with their payments and refunds, are the kept patient's to pay."""
    return [(_("invoices"), Invoice.objects.filter(patient=merged).update(patient=kept))]
