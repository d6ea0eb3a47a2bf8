from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient
from patients.selectors import search_patients
from patients.services import save_patient
from tests.factories import PatientFactory
from tests.helpers import new_patient

# --- Registering and editing at the desk ---------------------------------------


def test_receptionist_registers_a_patient_with_a_local_phone_number(reception_client):
    response = reception_client.post(reverse("patients:create"), new_patient(), follow=True)

    patient = Patient.objects.get()
    assert patient.full_name == "Anna Smith"
    assert Patient.objects.values_list("phone", flat=True).get() == "+12025550161"
    assert response.redirect_chain[-1][0] == reverse("patients:detail", args=[patient.pk])
    assert "Anna Smith is registered." in response.content.decode()


def test_receptionist_edits_a_patient(reception_client):
    patient = PatientFactory(given_name="Anna", family_name="Smith")

    response = reception_client.post(
        reverse("patients:edit", args=[patient.pk]),
        new_patient(family_name="Smith-Jones", phone="+44 20 7946 0958"),
        follow=True,
    )

    patient.refresh_from_db()
    assert patient.family_name == "Smith-Jones"
    assert patient.phone.as_e164 == "+442079460958"
    assert "Anna Smith-Jones&#x27;s details are saved." in response.content.decode()


@pytest.mark.parametrize("phone", ["12345", "not a phone", "+1 202 555 01"])
def test_invalid_phone_is_refused_and_nothing_is_saved(reception_client, phone):
    response = reception_client.post(reverse("patients:create"), new_patient(phone=phone))

    assert response.status_code == 200
    assert response.context["form"].errors["phone"]
    assert not Patient.objects.exists()


def test_date_of_birth_in_the_future_is_refused(reception_client):
    tomorrow = timezone.localdate() + timedelta(days=1)

    response = reception_client.post(
        reverse("patients:create"), new_patient(date_of_birth=tomorrow.isoformat())
    )

    assert response.context["form"].errors["date_of_birth"] == [
        "Date of birth cannot be in the future."
    ]
    assert not Patient.objects.exists()


def test_national_id_must_be_unique_when_given(reception_client):
    PatientFactory(national_id="NID-77")

    response = reception_client.post(
        reverse("patients:create"), new_patient(national_id=" NID-77 ")
    )

    assert "Another patient already has this national ID." in response.content.decode()
    assert Patient.objects.count() == 1


def test_many_patients_may_have_no_national_id(reception_client):
    PatientFactory(national_id="")

    reception_client.post(reverse("patients:create"), new_patient(national_id=""))

    assert Patient.objects.filter(national_id="").count() == 2


def test_unknown_patient_id_is_404(reception_client):
    assert reception_client.get(reverse("patients:detail", args=[999_999])).status_code == 404


def test_garbage_form_values_get_errors_not_a_500(reception_client):
    response = reception_client.post(
        reverse("patients:create"),
        new_patient(date_of_birth="31/31/1999", sex="dragon", email="nope", given_name="x" * 500),
    )

    errors = response.context["form"].errors
    assert response.status_code == 200
    assert set(errors) >= {"date_of_birth", "sex", "email", "given_name"}
    assert not Patient.objects.exists()


# --- SMS opt-out ------------------------------------------------------------------


def test_opting_out_of_sms_records_when(reception_client, time_machine):
    time_machine.move_to("2026-11-20 10:00:00+00:00", tick=False)
    patient = PatientFactory()

    reception_client.post(
        reverse("patients:edit", args=[patient.pk]), new_patient(sms_opt_out="on")
    )

    patient.refresh_from_db()
    assert patient.sms_opt_out
    assert patient.sms_opted_out_at.isoformat() == "2026-11-20T10:00:00+00:00"


def test_saving_again_keeps_the_first_opt_out_time(db, time_machine):
    time_machine.move_to("2026-11-20 10:00:00+00:00", tick=False)
    patient = save_patient(patient=PatientFactory.build(), sms_opt_out=True)
    first_opt_out = patient.sms_opted_out_at

    time_machine.move_to("2026-11-22 10:00:00+00:00", tick=False)
    save_patient(patient=patient, sms_opt_out=True)

    assert patient.sms_opted_out_at == first_opt_out


def test_opting_back_in_clears_the_opt_out(db):
    patient = save_patient(patient=PatientFactory.build(), sms_opt_out=True)

    save_patient(patient=patient, sms_opt_out=False)

    patient.refresh_from_db()
    assert patient.sms_opted_out_at is None


# --- Search -------------------------------------------------------------------------


@pytest.fixture
def registered(db) -> dict[str, Patient]:
    return {
        "anna": PatientFactory(
            given_name="Anna", family_name="Smith", phone="+12025550161", national_id="NID-1"
        ),
        "ben": PatientFactory(
            given_name="Ben", family_name="Smithers", phone="+12025550172", national_id="NID-2"
        ),
        "chloe": PatientFactory(
            given_name="Chloe", family_name="Nguyen", phone="+442079460958", national_id=""
        ),
    }


def found(query: str) -> set[str]:
    return {patient.given_name for patient in search_patients(query=query)}


def test_search_by_part_of_a_family_name_ignores_case(registered):
    assert found("smi") == {"Anna", "Ben"}


def test_search_by_given_and_family_name_needs_both_words(registered):
    assert found("ann smi") == {"Anna"}


def test_search_by_whole_phone_number_in_local_format(registered):
    assert found("(202) 555-0161") == {"Anna"}


def test_search_by_the_last_digits_of_a_phone(registered):
    assert found("0958") == {"Chloe"}


def test_search_by_national_id(registered):
    assert found("nid-2") == {"Ben"}


def test_a_nul_character_in_a_search_is_ignored_not_a_server_error(reception_client, registered):
    response = reception_client.get(reverse("patients:list"), {"q": "smi\x00"})

    assert response.status_code == 200
    assert found("smi\x00") == {"Anna", "Ben"}


def test_empty_search_lists_everyone_by_family_name(registered):
    assert [p.family_name for p in search_patients(query="  ")] == ["Nguyen", "Smith", "Smithers"]


def test_search_page_finds_a_patient_by_phone(reception_client, registered):
    response = reception_client.get(reverse("patients:list"), {"q": "202-555-0172"})

    assert list(response.context["patients"]) == [registered["ben"]]


def test_search_page_says_when_nothing_matches(reception_client, registered):
    response = reception_client.get(reverse("patients:list"), {"q": "Zebedee"})

    assert "No patient matches “Zebedee”." in response.content.decode()


def test_patient_list_is_paginated_with_a_fixed_number_of_queries(
    reception_client, django_assert_num_queries
):
    PatientFactory.create_batch(60)

    # the session with its user and permissions, count, page of patients, the
    # bell's unread count, the count of appointments to rebook (the session is
    # saved at most once a minute)
    with django_assert_num_queries(5):
        response = reception_client.get(reverse("patients:list"), {"page": 2})

    assert len(response.context["patients"]) == 25
    assert response.context["page_obj"].number == 2


def test_out_of_range_page_is_404_not_500(reception_client):
    assert reception_client.get(reverse("patients:list"), {"page": 99}).status_code == 404
    assert reception_client.get(reverse("patients:list"), {"page": "x"}).status_code == 404


def test_model_refuses_future_birth_date_outside_forms_too(db):
    patient = PatientFactory.build(date_of_birth=date.today() + timedelta(days=400))

    with pytest.raises(ValidationError, match="future"):
        save_patient(patient=patient, sms_opt_out=False)
