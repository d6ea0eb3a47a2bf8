"""Domain signals of scheduling. Services send them inside their transaction, after
the change; receivers (notifications' rules) write their own rows in the same
transaction and use `transaction.on_commit` for anything that leaves the process.

Every signal is sent with `appointment` and `by` (the user who acted, or None);
`appointment_booked`, `appointment_confirmed`, `appointment_cancelled` and
`appointment_rescheduled` carry `via` too (AppointmentChange.Via: "" for staff,
else the patient online, by SMS reply, or the waitlist), as the history does.
`appointment_rescheduled` also carries `previous_starts_at`, `previous_ends_at`,
`previous_doctor` (the appointment's doctor before the move: another one when it
moved to another doctor) and `change`, the history entry of the move (a receiver
can tell one move from another).
`patient_arrived` carries `change`, the history entry of the check-in (a patient
checked in, undone and checked in again has arrived twice). `check_in_undone`
carries `change`, the entry of the undoing, and `check_in`, the entry of the
check-in it takes back (None when the arrival has none: written by other means).

A walk-in (services.book_walk_in) sends `appointment_booked`,
`appointment_confirmed` and `patient_arrived` in one transaction, for an
appointment whose `walk_in` is set: the patient is standing at the desk, so
receivers send them no text about the booking.

`rebooking_call_promised` (scheduling.rebooking.promise_call) carries `flag`, the
appointment's open rebooking flag: reception asked to text the patient, once, that
the clinic will call to rebook a time the doctor no longer has.
"""

from django.dispatch import Signal

appointment_booked = Signal()
appointment_confirmed = Signal()
appointment_rescheduled = Signal()
appointment_cancelled = Signal()
patient_arrived = Signal()
check_in_undone = Signal()
appointment_no_show = Signal()
rebooking_call_promised = Signal()
