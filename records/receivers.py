"""The records' answers to other apps' signals, connected in `RecordsConfig.ready`."""

from __future__ import annotations

from django.dispatch import receiver

from sessions_app.signals import session_completed

from .services import sign_session_records


@receiver(session_completed, dispatch_uid="records.sign_on_session_completed")
def sign_on_session_completed(sender, *, session, by=None, **kwargs) -> None:
    """A completed session's note and prescriptions are signed and locked in the
    completion's own transaction: if signing fails, the session stays open."""
    sign_session_records(session=session, by=by)
