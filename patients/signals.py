"""The patients app's hooks for a merge (services.merge_patients). Patients sits at
the bottom of the apps and cannot reach the rows that name a patient (appointments,
sessions, invoices, records, messages); each app that owns such rows answers these
in its own receivers module.

Both are sent with `kept` and `merged` (the two patients), inside the merge's
transaction for `patients_merged`.

- `patient_merge_planned`: say what would move, without changing anything. A
  receiver returns a list of `(kind, count)` (kind: a translated plural noun, e.g.
  "appointments"), and raises `PatientMergeRefused` when the merge cannot be done
  (two appointments at the same time).
- `patients_merged`: `merged` is already marked as merged into `kept`; move the
  rows to `kept` and return the same list of `(kind, count)` actually moved. `by` is
  the manager. A receiver that raises `PatientMergeRefused` undoes the whole merge.
"""

from django.dispatch import Signal

patient_merge_planned = Signal()
patients_merged = Signal()
