"""Payments listens to sessions: a completed session opens its invoice in the same
transaction."""

from django.dispatch import receiver

from sessions_app.models import Session
from sessions_app.signals import session_completed

from .services import open_invoice


@receiver(session_completed)
def open_invoice_of_completed_session(session: Session, **kwargs) -> None:
    open_invoice(session=session)
