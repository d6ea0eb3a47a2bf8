"""Registering warns about a likely duplicate (the same normalised name and date of
birth, or the same phone) and offers the existing patient, at the desk and in the
API; the phone is optional (no SMS then); dates of birth are plausible."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.tokens import issue_token
from notifications.dispatch import dispatch_due
from notifications.models import Status
from patients.models import Patient
from patients.selectors import likely_duplicates
from tests.clock import MONDAY, at
from tests.factories import NotificationFactory, PatientFactory
from tests.helpers import new_patient

API = "/api/v1"


@pytest.fixture
def siobhan(db) -> Patient:
    return PatientFactory(
        given_name="Siobhán",
        family_name="D'Arcy",
        date_of_birth=date(1979, 4, 2),
        phone="+12025550143",
    )


def siobhan_again(**overrides: object) -> dict[str, object]:
    """Siobhán at the desk a second time, typed differently, with another phone."""
    fields = {
        "given_name": "Siobhan",
        "family_name": "D\u2019ARCY",
        "date_of_birth": "1979-04-02",
        "phone": "(202) 555-0199",
    }
    return new_patient(**{**fields, **overrides})


# --- The rule ------------------------------------------------------------------------


def test_same_normalised_name_and_birth_date_is_a_likely_duplicate(siobhan):
    assert list(
        likely_duplicates(given_name="siobhan", family_name="Darcy", date_of_birth=date(1979, 4, 2))
    ) == [siobhan]


def test_same_name_born_another_day_is_not_a_duplicate(siobhan):
    assert not likely_duplicates(
        given_name="Siobhan", family_name="D'Arcy", date_of_birth=date(1979, 4, 3)
    ).exists()


def test_same_phone_is_a_likely_duplicate(siobhan):
    assert list(
        likely_duplicates(
            given_name="Aoife",
            family_name="D'Arcy",
            date_of_birth=date(2010, 1, 1),
            phone="+12025550143",
        )
    ) == [siobhan]


def test_no_phone_matches_no_one_on_phone(db):
    PatientFactory(phone="")

    assert not likely_duplicates(
        given_name="Aoife", family_name="Byrne", date_of_birth=date(2010, 1, 1), phone=""
    ).exists()


def test_a_merged_away_patient_is_not_offered(siobhan):
    PatientFactory(
        given_name="Siobhan",
        family_name="Darcy",
        date_of_birth=date(1979, 4, 2),
        merged_into=siobhan,
    )

    assert list(
        likely_duplicates(given_name="Siobhan", family_name="Darcy", date_of_birth=date(1979, 4, 2))
    ) == [siobhan]


# --- At the desk ---------------------------------------------------------------------


def test_registering_her_again_shows_the_existing_patient_and_saves_nothing(
    reception_client, siobhan
):
    response = reception_client.post(reverse("patients:create"), siobhan_again())

    assert response.status_code == 200
    assert Patient.objects.count() == 1
    page = response.content.decode()
    assert "This patient may already be registered" in page
    assert f'href="{siobhan.get_absolute_url()}"' in page
    assert "Same name and date of birth" in page
    assert "Register anyway" in page
    [(patient, reasons)] = response.context["duplicates"]
    assert (patient, reasons) == (siobhan, ["same name and date of birth"])


def test_the_same_phone_is_named_as_the_reason(reception_client, siobhan):
    response = reception_client.post(
        reverse("patients:create"),
        new_patient(given_name="Aoife", phone="(202) 555-0143"),
    )

    [(patient, reasons)] = response.context["duplicates"]
    assert (patient, reasons) == (siobhan, ["same phone number"])


def test_register_anyway_registers_a_second_patient(reception_client, siobhan):
    response = reception_client.post(
        reverse("patients:create"), siobhan_again(confirm_new_patient="yes"), follow=True
    )

    assert Patient.objects.count() == 2
    new = Patient.objects.exclude(pk=siobhan.pk).get()
    assert response.redirect_chain[-1][0] == new.get_absolute_url()


def test_use_this_patient_goes_back_to_booking_with_her(reception_client, siobhan):
    response = reception_client.post(reverse("patients:create") + "?then=book", siobhan_again())

    assert f"{reverse('scheduling:book')}?patient={siobhan.pk}" in response.content.decode()


def test_a_new_patient_unlike_anyone_is_registered_at_once(reception_client, siobhan):
    reception_client.post(reverse("patients:create"), new_patient())

    assert Patient.objects.filter(given_name="Anna").exists()


def test_editing_a_patient_is_not_held_up_by_the_check(reception_client, siobhan):
    twin = PatientFactory(given_name="Aoife", family_name="Byrne")

    reception_client.post(
        reverse("patients:edit", args=[twin.pk]),
        new_patient(given_name="Aoife", family_name="Byrne", phone="(202) 555-0143"),
    )

    twin.refresh_from_db()
    assert twin.phone == "+12025550143"


def test_an_invalid_form_shows_its_errors_not_duplicates(reception_client, siobhan):
    response = reception_client.post(reverse("patients:create"), siobhan_again(phone="12"))

    assert response.context["form"].errors["phone"]
    assert "duplicates" not in response.context


# --- In the API ----------------------------------------------------------------------


@pytest.fixture
def api(receptionist) -> Client:
    _, token = issue_token(user=receptionist, name="tests")
    return Client(headers={"Authorization": f"Bearer {token}"})


def test_api_answers_409_with_the_possible_duplicate(api, siobhan):
    response = api.post(f"{API}/patients", siobhan_again(), content_type="application/json")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "possible_duplicate"
    assert error["duplicates"] == [{"id": siobhan.pk, "name": "Siobhán D'Arcy"}]
    assert Patient.objects.count() == 1


def test_api_registers_when_the_client_confirms(api, siobhan):
    response = api.post(
        f"{API}/patients",
        siobhan_again(confirm_new_patient=True),
        content_type="application/json",
    )

    assert response.status_code == 201
    assert Patient.objects.count() == 2


def test_api_checks_the_fields_before_duplicates(api, siobhan):
    response = api.post(
        f"{API}/patients",
        siobhan_again(date_of_birth="1850-01-01"),
        content_type="application/json",
    )

    assert response.status_code == 422
    assert response.json()["error"]["fields"]["date_of_birth"]


def test_api_documents_the_duplicate_answer(api):
    document = api.get(f"{API}/openapi.json").json()

    operation = document["paths"][f"{API}/patients"]["post"]
    assert "409" in operation["responses"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][body.rsplit("/", 1)[-1]]
    assert "confirm_new_patient" in schema["properties"]
    assert "phone" not in schema.get("required", [])


# --- An optional phone ---------------------------------------------------------------


def test_a_patient_is_registered_without_a_phone(reception_client):
    response = reception_client.post(reverse("patients:create"), new_patient(phone=""), follow=True)

    patient = Patient.objects.get()
    assert patient.phone == ""
    assert "No phone: no text messages" in response.content.decode()


def test_a_patient_with_a_phone_has_no_such_warning(reception_client, siobhan):
    response = reception_client.get(siobhan.get_absolute_url())

    assert "No phone: no text messages" not in response.content.decode()


def test_a_patient_without_a_phone_is_not_texted(db, fake_twilio, time_machine):
    time_machine.move_to(at(MONDAY, 12), tick=False)
    message = NotificationFactory(patient=PatientFactory(phone=""), next_attempt_at=timezone.now())

    dispatch_due()

    assert fake_twilio.messages == []
    message.refresh_from_db()
    assert (message.status, message.last_error) == (
        Status.SKIPPED,
        "The patient has no phone number: no text messages.",
    )


def test_api_registers_a_patient_without_a_phone(api):
    body = new_patient()
    del body["phone"]

    response = api.post(f"{API}/patients", body, content_type="application/json")

    assert response.status_code == 201
    assert response.json()["phone"] == ""


# --- Plausible dates of birth ---------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "error"),
    [
        ("1899-12-31", "Date of birth cannot be before 1 January 1900."),
        ("TOMORROW", "Date of birth cannot be in the future."),
    ],
)
def test_implausible_dates_of_birth_are_refused(reception_client, born, error):
    if born == "TOMORROW":
        born = (timezone.localdate() + timedelta(days=1)).isoformat()

    response = reception_client.post(reverse("patients:create"), new_patient(date_of_birth=born))

    assert response.context["form"].errors["date_of_birth"] == [error]
    assert not Patient.objects.exists()


@pytest.mark.parametrize("born", ["1900-01-01", "TODAY"])
def test_the_bounds_themselves_are_accepted(reception_client, born):
    if born == "TODAY":
        born = timezone.localdate().isoformat()

    reception_client.post(reverse("patients:create"), new_patient(date_of_birth=born))

    assert Patient.objects.exists()


def test_today_is_the_clinic_s_today_not_the_server_s(reception_client, time_machine):
    # 23:30 in New York is already tomorrow in UTC: a baby born tonight is fine.
    time_machine.move_to(at(MONDAY, 23, 30), tick=False)

    reception_client.post(reverse("patients:create"), new_patient(date_of_birth=MONDAY.isoformat()))

    assert Patient.objects.get().date_of_birth == MONDAY
