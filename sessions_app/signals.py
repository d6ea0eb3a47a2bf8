"""Domain signals of clinical sessions, sent inside the service's transaction after
the change, with `session` and `by` (the user who acted). Records sign the notes on
`session_completed`, payments open the invoice from it (and thank the patient), and
notifications tell reception."""

from django.dispatch import Signal

session_started = Signal()
session_completed = Signal()
