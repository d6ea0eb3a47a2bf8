"""Domain signals of scheduling. Services send them inside their transaction, after
the change; receivers (notifications' rules) write their own rows in the same
transaction and use `transaction.on_commit` for anything that leaves the process.

Every signal is sent with `appointment` and `by` (the user who acted, or None);
`appointment_rescheduled` also carries `previous_starts_at`, `previous_ends_at` and
`change`, the history entry of the move (a receiver can tell one move from another).
"""

from django.dispatch import Signal

appointment_booked = Signal()
appointment_confirmed = Signal()
appointment_rescheduled = Signal()
appointment_cancelled = Signal()
patient_arrived = Signal()
appointment_no_show = Signal()
