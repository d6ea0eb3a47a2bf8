"""Domain signals of payments, sent inside the service's transaction.

`invoice_opened` (with `invoice`): a completed session's invoice exists; the
notifications rules text the patient, with a link to pay when a balance is due."""

from django.dispatch import Signal

invoice_opened = Signal()
