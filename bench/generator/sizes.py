"""How big the generated clinic is and how it is written: the defaults that
`generate()` scales by the number of doctors and years, and the batch size of the
bulk inserts."""

from __future__ import annotations

# Rows buffered before a bulk insert; each step reports its progress every as many items.
BATCH_SIZE = 5000
# About 250,000 appointments for 20 doctors over 5 years.
APPOINTMENTS_PER_DOCTOR_YEAR = 2500
PATIENTS_PER_DOCTOR = 1500
