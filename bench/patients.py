"""Patient search as reception types it, on the patients page, over every patient
of the measured database (30,000 in the 5-year clinic): the server time and the
queries of a name in the list's "Last, First" form, a name with a slip in it (on
PostgreSQL the near-miss search), a date of birth and the last digits of a phone.

The queries are taken from the patient with the lowest id who has a phone, so the
same data gives the same searches."""

from __future__ import annotations

from urllib.parse import urlencode

from bench.scenario import Plan, timed_page
from patients.models import Patient
from patients.selectors import search_patients


def searches() -> dict[str, str]:
    """What is typed, by kind, about one patient of the data."""
    patient = (
        Patient.objects.filter(merged_into__isnull=True).exclude(phone="").order_by("pk").first()
    )
    if patient is None:
        raise SystemExit("No patient with a phone to search for.")
    family = patient.family_name
    # Two middle letters swapped: "Robinson" typed "Robnison".
    middle = len(family) // 2
    slip = family[: middle - 1] + family[middle] + family[middle - 1] + family[middle + 1 :]
    return {
        "name": f"{family}, {patient.given_name}",
        "typo": f"{slip} {patient.given_name}",
        "born": patient.date_of_birth.isoformat(),
        "phone": patient.phone.as_e164[-4:],
    }


def measure_patient_search(plan: Plan, iterations: int) -> dict:
    reception = plan.client_for(plan.reception)
    figures: dict = {"patient_search_typed": searches()}
    for kind, typed in figures["patient_search_typed"].items():
        url = f"/patients/?{urlencode({'q': typed})}"
        times, queries, slowest = timed_page(reception, url, iterations)
        figures[f"patient_search_{kind}_ms"] = times
        figures[f"patient_search_{kind}_queries"] = queries
        figures[f"patient_search_{kind}_slowest"] = slowest
        figures[f"patient_search_{kind}_found"] = search_patients(query=typed).count()
    return figures
