"""The API's people and catalogue (/api/v1): doctors and their hours, patients, the
services and the free-slot search, with the pages' permissions and rules.

The scene: Monday 30 November 2026 in New York, the clock at 07:00. Dr Smith works
Mondays from 09:00 to 12:00; a consultation lasts 30 minutes.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from doctors.models import Weekday
from patients.models import Patient
from scheduling.selectors import free_slots
from tests.clock import MONDAY, NEW_YORK, at
from tests.concurrency import all_at_once
from tests.factories import (
    AppointmentFactory,
    DoctorFactory,
    PatientFactory,
    ServiceFactory,
    SpecialtyFactory,
    TimeOffFactory,
    UserFactory,
    WorkingHoursFactory,
    with_working_hours,
)
from tests.helpers import new_patient

pytestmark = pytest.mark.django_db

API = "/api/v1"
HUGE = 2**64  # past PostgreSQL's bigint and SQLite's integer
ROLES = ["reception_api", "doctor_api", "manager_api"]


@pytest.fixture(autouse=True)
def monday_early(time_machine) -> None:
    time_machine.move_to(at(MONDAY, 7), tick=False)


@pytest.fixture
def smith(doctor):
    return with_working_hours(doctor, Weekday.MONDAY, ends=time(12))


def client_of(request, role: str) -> Client:
    return request.getfixturevalue(role)


def error_of(response) -> dict:
    return response.json()["error"]


def fields_of(response) -> dict[str, list[str]]:
    assert response.status_code == 422, response.content
    error = error_of(response)
    assert error["code"] == "invalid"
    return error["fields"]


# --- Who may call what ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/doctors"),
        ("get", "/doctors/1"),
        ("get", "/doctors/1/working-hours"),
        ("get", "/services"),
        ("get", "/slots?service=1&date_from=2026-11-30"),
        ("get", "/patients"),
        ("post", "/patients"),
        ("get", "/patients/1"),
        ("patch", "/patients/1"),
    ],
)
def test_every_endpoint_answers_401_without_a_token(method, path):
    response = getattr(Client(), method)(API + path, {}, content_type="application/json")

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_doctors_services_and_patients(request, role, smith, consultation):
    api = client_of(request, role)
    patient = PatientFactory()

    for path in [
        "/doctors",
        f"/doctors/{smith.pk}",
        f"/doctors/{smith.pk}/working-hours",
        "/services",
        "/patients",
        f"/patients/{patient.pk}",
    ]:
        assert api.get(API + path).status_code == 200, path


@pytest.mark.parametrize(("role", "status"), [*zip(ROLES, [200, 403, 200], strict=True)])
def test_slots_are_for_those_who_book(request, role, status, smith, consultation):
    response = client_of(request, role).get(
        f"{API}/slots", {"service": consultation.pk, "date_from": "2026-11-30"}
    )

    assert response.status_code == status


@pytest.mark.parametrize(("role", "status"), [*zip(ROLES, [201, 403, 201], strict=True)])
def test_reception_and_managers_register_patients_doctors_do_not(request, role, status):
    response = client_of(request, role).post(
        f"{API}/patients", new_patient(), content_type="application/json"
    )

    assert response.status_code == status
    assert Patient.objects.count() == (1 if status == 201 else 0)


@pytest.mark.parametrize(("role", "status"), [*zip(ROLES, [200, 403, 200], strict=True)])
def test_reception_and_managers_change_patients_doctors_do_not(request, role, status):
    patient = PatientFactory(family_name="Smith")

    response = client_of(request, role).patch(
        f"{API}/patients/{patient.pk}", {"family_name": "Jones"}, content_type="application/json"
    )

    assert response.status_code == status
    patient.refresh_from_db()
    assert patient.family_name == ("Jones" if status == 200 else "Smith")


def test_a_user_without_a_role_is_refused_everything(api_client, smith, consultation):
    api = api_client(UserFactory())
    patient = PatientFactory()

    for path in ["/doctors", f"/doctors/{smith.pk}", "/services", f"/patients/{patient.pk}"]:
        response = api.get(API + path)
        assert response.status_code == 403, path
        assert error_of(response)["code"] == "forbidden"


# --- Unknown ids --------------------------------------------------------------------------


@pytest.mark.parametrize("pk", [999_999, HUGE, 0, -1])
@pytest.mark.parametrize("path", ["/doctors/{pk}", "/doctors/{pk}/working-hours", "/patients/{pk}"])
def test_an_unknown_or_impossible_id_is_404(manager_api, path, pk):
    response = manager_api.get(API + path.format(pk=pk))

    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found", "message": "No such object."}


@pytest.mark.parametrize("pk", [999_999, HUGE])
def test_changing_an_unknown_patient_is_404(reception_api, pk):
    response = reception_api.patch(
        f"{API}/patients/{pk}", {"family_name": "Jones"}, content_type="application/json"
    )

    assert response.status_code == 404


def test_an_id_that_is_not_a_number_is_a_field_error(manager_api):
    assert "id" in fields_of(manager_api.get(f"{API}/patients/abc"))


# --- Doctors --------------------------------------------------------------------------------


def test_the_directory_lists_active_doctors_with_specialty_and_hours(reception_api, smith):
    cardiology = SpecialtyFactory(name="Cardiology")
    jones = DoctorFactory(given_name="Ann", family_name="Jones", specialty=cardiology, phone="")
    DoctorFactory(family_name="Adams", is_active=False)

    doctors = reception_api.get(f"{API}/doctors").json()

    assert [doctor["display_name"] for doctor in doctors] == ["Dr Jones", "Dr Smith"]
    assert doctors[0] == {
        "id": jones.pk,
        "given_name": "Ann",
        "family_name": "Jones",
        "display_name": "Dr Jones",
        "specialty": {"id": cardiology.pk, "name": "Cardiology"},
        "phone": "",
        "email": "jones@clinic.example",
        "is_active": True,
        "working_hours": [],
    }
    assert doctors[1]["phone"] == smith.phone.as_e164
    assert doctors[1]["working_hours"] == [
        {"weekday": 0, "weekday_name": "Monday", "starts": "09:00", "ends": "12:00"}
    ]


def test_a_doctor_who_left_is_still_found_by_id(reception_api):
    retired = DoctorFactory(family_name="Adams", is_active=False, specialty=None)

    response = reception_api.get(f"{API}/doctors/{retired.pk}")

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert response.json()["specialty"] is None


def test_working_hours_show_the_week_and_the_time_off_to_come(doctor_api, smith):
    WorkingHoursFactory(doctor=smith, weekday=Weekday.WEDNESDAY, starts=time(13), ends=time(17))
    TimeOffFactory(
        doctor=smith, starts_at=at(MONDAY, 7) - timedelta(days=10), ends_at=at(MONDAY, 6)
    )
    TimeOffFactory(
        doctor=smith,
        starts_at=datetime(2026, 12, 24, 0, tzinfo=NEW_YORK),
        ends_at=datetime(2026, 12, 28, 0, tzinfo=NEW_YORK),
        reason="Holidays",
    )

    response = doctor_api.get(f"{API}/doctors/{smith.pk}/working-hours")

    assert response.json() == {
        "doctor": smith.pk,
        "working_hours": [
            {"weekday": 0, "weekday_name": "Monday", "starts": "09:00", "ends": "12:00"},
            {"weekday": 2, "weekday_name": "Wednesday", "starts": "13:00", "ends": "17:00"},
        ],
        "time_off": [
            {
                "starts_at": "2026-12-24T00:00:00-05:00",
                "ends_at": "2026-12-28T00:00:00-05:00",
                "reason": "Holidays",
            }
        ],
    }


def test_the_directory_runs_the_same_queries_for_any_number_of_doctors(reception_api):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert reception_api.get(f"{API}/doctors").status_code == 200
        return len(captured)

    DoctorFactory()
    queries()  # the token's first use is recorded once
    few = queries()
    for _ in range(5):
        WorkingHoursFactory(doctor=DoctorFactory(specialty=SpecialtyFactory(name="Dermatology")))

    assert queries() == few


# --- Services ---------------------------------------------------------------------------------


def test_the_catalogue_lists_active_services_with_prices_as_decimal_strings(
    doctor_api, consultation
):
    ServiceFactory(code="ecg", name="ECG", duration_minutes=15, price=Decimal("35.5"))
    ServiceFactory(code="old", name="Retired service", is_active=False)

    services = doctor_api.get(f"{API}/services").json()

    assert services == [
        {
            "id": consultation.pk,
            "code": "consult",
            "name": "Consultation",
            "duration_minutes": 30,
            "price": "80.00",
            "currency": "USD",
        },
        {
            "id": services[1]["id"],
            "code": "ecg",
            "name": "ECG",
            "duration_minutes": 15,
            "price": "35.50",
            "currency": "USD",
        },
    ]


# --- Patients: registering, reading, changing -----------------------------------------------


def register(api: Client, **overrides):
    return api.post(f"{API}/patients", new_patient(**overrides), content_type="application/json")


def test_a_patient_is_registered_read_and_changed(reception_api):
    created = register(reception_api, national_id=" NID-1 ")

    assert created.status_code == 201
    patient = created.json()
    assert patient["phone"] == "+12025550161"
    assert patient["national_id"] == "NID-1"
    assert patient["full_name"] == "Anna Smith"
    assert patient["created_at"] == "2026-11-30T07:00:00-05:00"
    assert patient["sms_opt_out"] is False
    assert patient["sms_opted_out_at"] is None

    read = reception_api.get(f"{API}/patients/{patient['id']}")
    assert read.json() == patient

    changed = reception_api.patch(
        f"{API}/patients/{patient['id']}",
        {"family_name": "Smith-Jones", "phone": "+44 20 7946 0958", "sms_opt_out": True},
        content_type="application/json",
    )
    assert changed.status_code == 200
    assert changed.json() == {
        **patient,
        "family_name": "Smith-Jones",
        "full_name": "Anna Smith-Jones",
        "phone": "+442079460958",
        "sms_opt_out": True,
        "sms_opted_out_at": "2026-11-30T07:00:00-05:00",
    }
    assert reception_api.get(f"{API}/patients/{patient['id']}").json() == changed.json()


def test_a_patch_without_fields_changes_nothing(reception_api):
    patient = PatientFactory(given_name="Anna")

    response = reception_api.patch(
        f"{API}/patients/{patient.pk}", {}, content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json()["given_name"] == "Anna"


def test_missing_names_are_field_errors(reception_api):
    body = new_patient()
    del body["given_name"]

    fields = fields_of(
        reception_api.post(
            f"{API}/patients", body | {"family_name": "  "}, content_type="application/json"
        )
    )

    assert set(fields) == {"given_name", "family_name"}
    assert Patient.objects.count() == 0


@pytest.mark.parametrize("phone", ["12345", "not a phone", "+1 202 555 01"])
def test_a_bad_phone_is_a_field_error(reception_api, phone):
    assert set(fields_of(register(reception_api, phone=phone))) == {"phone"}
    assert Patient.objects.count() == 0


def test_a_birth_date_in_the_future_is_a_field_error(reception_api):
    fields = fields_of(register(reception_api, date_of_birth="2026-12-01"))

    assert fields == {"date_of_birth": ["Date of birth cannot be in the future."]}


def test_a_national_id_of_another_patient_is_a_field_error(reception_api):
    PatientFactory(national_id="NID-77")
    other = PatientFactory(national_id="NID-78")

    on_create = fields_of(register(reception_api, national_id=" NID-77 "))
    on_change = fields_of(
        reception_api.patch(
            f"{API}/patients/{other.pk}", {"national_id": "NID-77"}, content_type="application/json"
        )
    )

    assert (
        on_create == on_change == {"national_id": ["Another patient already has this national ID."]}
    )
    assert Patient.objects.count() == 2
    other.refresh_from_db()
    assert other.national_id == "NID-78"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_national_id_registered_at_once_by_many_clerks_is_one_patient(api_client, receptionist):
    clerks = [api_client(receptionist) for _ in range(8)]

    responses = all_at_once(
        [lambda clerk=clerk: register(clerk, national_id="NID-9") for clerk in clerks]
    )

    assert sorted(response.status_code for response in responses)[0] == 201
    refused = [response for response in responses if response.status_code != 201]
    assert len(refused) == 7
    # Refused for the national ID taken, or, when the first clerk's patient was
    # committed between a clerk's check of the fields and of duplicates, as the
    # same person (the same name, date of birth and phone).
    assert all(
        set(fields_of(response)) == {"national_id"}
        if response.status_code == 422
        else response.json()["error"]["code"] == "possible_duplicate"
        for response in refused
    )
    assert Patient.objects.filter(national_id="NID-9").count() == 1


def test_many_patients_may_have_no_national_id(reception_api):
    PatientFactory(national_id="")

    assert register(reception_api, national_id="").status_code == 201


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"nickname": "Annie"}, "nickname"),
        ({"id": 5}, "id"),
        ({"given_name": "A" * 101}, "given_name"),
        ({"given_name": "An\x00na"}, "given_name"),
        ({"notes": "\ud800"}, "notes"),
        ({"sex": "unknowable"}, "sex"),
        ({"email": "not-an-email"}, "email"),
        ({"date_of_birth": "12/03/1984"}, "date_of_birth"),
        ({"sms_opt_out": "perhaps"}, "sms_opt_out"),
    ],
)
def test_unknown_fields_and_bad_values_are_refused_by_name(reception_api, overrides, field):
    assert field in fields_of(register(reception_api, **overrides))
    assert Patient.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"given_name": None},
        {"sms_opt_out": None},
        {"notes": None, "sms_opt_out": None},
        {"nickname": "Annie"},
        {"phone": "12"},
    ],
)
def test_a_bad_patch_is_refused_and_changes_nothing(reception_api, body):
    # Opted out, so that a null read as "no" would opt her back in.
    patient = PatientFactory(given_name="Anna", sms_opted_out_at=at(MONDAY, 6))
    before = Patient.objects.values().get()

    fields = fields_of(
        reception_api.patch(f"{API}/patients/{patient.pk}", body, content_type="application/json")
    )

    assert set(fields) == set(body)
    assert Patient.objects.values().get() == before


def test_a_body_that_is_not_json_is_a_400(reception_api):
    response = reception_api.post(f"{API}/patients", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"


# --- Patients: searching -----------------------------------------------------------------------


@pytest.fixture
def anna(db):
    return PatientFactory(
        given_name="Anna", family_name="Smith", phone="+12025550161", national_id="NID-1"
    )


@pytest.mark.parametrize("query", ["ann smi", "Smith", "0161", "(202) 555-0161", "nid-1"])
def test_patients_are_found_by_name_phone_or_national_id(doctor_api, anna, query):
    PatientFactory(given_name="Bob", family_name="Brown", phone="+12025550999")

    page = doctor_api.get(f"{API}/patients", {"q": query}).json()

    assert page["count"] == 1
    assert [patient["id"] for patient in page["items"]] == [anna.pk]


def test_the_list_is_paged_by_family_name(reception_api):
    for family_name in ["Young", "Adams", "Moore", "Baker"]:
        PatientFactory(family_name=family_name)

    page = reception_api.get(f"{API}/patients", {"limit": 2, "offset": 1}).json()

    assert page["count"] == 4
    assert [patient["family_name"] for patient in page["items"]] == ["Baker", "Moore"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": HUGE}, "offset"),
        ({"q": "a" * 101}, "q"),
        ({"q": "ann\x00"}, "q"),
    ],
)
def test_a_bad_page_or_query_is_a_field_error(reception_api, params, field):
    assert field in fields_of(reception_api.get(f"{API}/patients", params))


def test_the_patient_list_runs_the_same_queries_for_any_number_of_patients(reception_api):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert reception_api.get(f"{API}/patients", {"q": "a"}).status_code == 200
        return len(captured)

    PatientFactory(given_name="Anna")
    queries()  # the token's first use is recorded once
    few = queries()
    PatientFactory.create_batch(10, given_name="Alana")

    assert queries() == few


# --- Free slots ------------------------------------------------------------------------------


def slot(doctor, hour: int, minute: int = 0, length: int = 30) -> dict:
    starts_at = at(MONDAY, hour, minute)
    return {
        "doctor": doctor.pk,
        "doctor_name": doctor.display_name,
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(minutes=length)).isoformat(),
    }


def test_slots_are_the_free_times_in_the_clinics_zone(reception_api, smith, consultation):
    AppointmentFactory(doctor=smith, service=consultation, starts_at=at(MONDAY, 10))

    response = reception_api.get(
        f"{API}/slots",
        {"service": consultation.pk, "doctor": smith.pk, "date_from": "2026-11-30"},
    )

    assert response.status_code == 200
    assert response.json() == [
        slot(smith, 9),
        slot(smith, 9, 15),
        slot(smith, 9, 30),
        slot(smith, 10, 30),
        slot(smith, 10, 45),
        slot(smith, 11),
        slot(smith, 11, 15),
        slot(smith, 11, 30),
    ]
    assert response.json()[0]["starts_at"] == "2026-11-30T09:00:00-05:00"


def test_slots_are_what_the_booking_page_offers(manager_api, smith, consultation):
    jones = DoctorFactory(family_name="Jones")
    WorkingHoursFactory(doctor=jones, weekday=Weekday.MONDAY, starts=time(10), ends=time(11))
    WorkingHoursFactory(doctor=jones, weekday=Weekday.TUESDAY, starts=time(9), ends=time(10))
    AppointmentFactory(doctor=smith, service=consultation, starts_at=at(MONDAY, 10))
    TimeOffFactory(doctor=jones, starts_at=at(MONDAY, 10, 30), ends_at=at(MONDAY, 11))
    tuesday = MONDAY + timedelta(days=1)

    response = manager_api.get(
        f"{API}/slots",
        {"service": consultation.pk, "date_from": "2026-11-30", "date_to": "2026-12-01"},
    )

    offered = free_slots(service=consultation, date_from=MONDAY, date_to=tuesday)
    assert response.json() == [
        {
            "doctor": item.doctor.pk,
            "doctor_name": item.doctor.display_name,
            "starts_at": item.starts_at.astimezone(NEW_YORK).isoformat(),
            "ends_at": item.ends_at.astimezone(NEW_YORK).isoformat(),
        }
        for item in offered
    ]
    assert {item["doctor"] for item in response.json()} == {smith.pk, jones.pk}
    assert slot(jones, 10) in response.json()
    assert slot(jones, 10, 30) not in response.json()


def test_the_range_rules_are_the_booking_pages(reception_api, consultation):
    def refusal(date_to: str) -> dict:
        return fields_of(
            reception_api.get(
                f"{API}/slots",
                {"service": consultation.pk, "date_from": "2026-11-30", "date_to": date_to},
            )
        )

    assert refusal("2026-11-29") == {"date_to": ["The end date is before the start date."]}
    assert refusal("2026-12-31") == {"date_to": ["Search at most 31 days at a time."]}


def test_a_patients_other_appointments_are_avoided(reception_api, smith, consultation):
    jane = PatientFactory()
    AppointmentFactory(
        doctor=DoctorFactory(), patient=jane, service=consultation, starts_at=at(MONDAY, 9)
    )

    response = reception_api.get(
        f"{API}/slots",
        {
            "service": consultation.pk,
            "doctor": smith.pk,
            "patient": jane.pk,
            "date_from": "2026-11-30",
        },
    )

    assert response.json()[0] == slot(smith, 9, 30)


def test_an_empty_doctor_means_any_doctor(reception_api, smith, consultation):
    response = reception_api.get(
        f"{API}/slots", {"service": consultation.pk, "doctor": "", "date_from": "2026-11-30"}
    )

    assert response.status_code == 200
    assert len(response.json()) == 11


CONSULT = "the consultation's id"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2026-11-30"}, "service"),
        ({"service": 999_999, "date_from": "2026-11-30"}, "service"),
        ({"service": HUGE, "date_from": "2026-11-30"}, "service"),
        ({"service": "consult", "date_from": "2026-11-30"}, "service"),
        ({"service": CONSULT, "doctor": 999_999, "date_from": "2026-11-30"}, "doctor"),
        ({"service": CONSULT, "patient": HUGE, "date_from": "2026-11-30"}, "patient"),
        ({"service": CONSULT}, "date_from"),
        ({"service": CONSULT, "date_from": "tomorrow"}, "date_from"),
        ({"service": CONSULT, "date_from": "2026-11-30T09:00"}, "date_from"),
        ({"service": CONSULT, "date_from": "30/11/2026"}, "date_from"),
        ({"service": CONSULT, "date_from": "9999-12-31"}, "date_from"),
        ({"service": CONSULT, "date_from": "2026-11-30", "date_to": "2026-11-29"}, "date_to"),
        ({"service": CONSULT, "date_from": "2026-11-30", "date_to": "2026-12-31"}, "date_to"),
        ({"service": CONSULT, "date_from": "2026-11-30", "date_to": "2026-13-01"}, "date_to"),
    ],
)
def test_a_bad_slot_search_is_a_field_error(reception_api, smith, consultation, params, field):
    params = {key: consultation.pk if value == CONSULT else value for key, value in params.items()}

    fields = fields_of(reception_api.get(f"{API}/slots", params))

    assert field in fields


def test_an_inactive_service_offers_no_slots(reception_api, smith, consultation):
    consultation.is_active = False
    consultation.save()

    fields = fields_of(
        reception_api.get(f"{API}/slots", {"service": consultation.pk, "date_from": "2026-11-30"})
    )

    assert fields == {"service": [f"No active service has id {consultation.pk}."]}


def test_a_range_of_31_days_is_searched(reception_api, smith, consultation):
    response = reception_api.get(
        f"{API}/slots",
        {"service": consultation.pk, "date_from": "2026-11-30", "date_to": "2026-12-30"},
    )

    assert response.status_code == 200
    assert len(response.json()) == 5 * 11
