"""Patients found however they are typed: case, accents, apostrophes, the list's
own "Last, First", a date of birth, any part of a phone; near misses and ranking on
PostgreSQL; one selector behind every patient picker."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from clinic.tokens import issue_token
from patients.models import Patient
from patients.normalise import normalise
from patients.selectors import search_patients
from tests.factories import PatientFactory
from tests.helpers import postgresql_only

# --- The one normalisation ---------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("Siobhán D'Arcy", "siobhan darcy"),
        ("SIOBHAN D\u2019ARCY", "siobhan darcy"),
        ("d`arcy", "darcy"),
        ("D\u02bcArcy", "darcy"),
        ("Smith-Jones", "smith jones"),
        ("Smith\u2013Jones", "smith jones"),
        ("D'Arcy,  Siobhán", "darcy siobhan"),
        ("Øberg Łukasz", "oberg lukasz"),
        ("Straße", "strasse"),
        ("  José   María ", "jose maria"),
    ],
)
def test_names_are_compared_without_case_accents_or_apostrophes(typed, normalised):
    assert normalise(typed) == normalised


def test_the_stored_name_is_family_name_first_and_follows_changes(db):
    patient = PatientFactory(given_name="Siobhán", family_name="D'Arcy")
    assert Patient.objects.values_list("search_text", flat=True).get() == "darcy siobhan"

    patient.family_name = "O’Neill"
    patient.save(update_fields=["family_name"])

    assert Patient.objects.values_list("search_text", flat=True).get() == "oneill siobhan"


# --- Finding Siobhán D'Arcy ------------------------------------------------------------


@pytest.fixture
def siobhan(db) -> Patient:
    return PatientFactory(
        given_name="Siobhán",
        family_name="D'Arcy",
        date_of_birth=date(1979, 4, 2),
        phone="+12025550143",
    )


@pytest.fixture
def others(db) -> list[Patient]:
    return [
        PatientFactory(given_name="Anna", family_name="Smith", date_of_birth=date(1984, 3, 12)),
        PatientFactory(given_name="Darius", family_name="Cyrus", date_of_birth=date(1979, 4, 3)),
    ]


@pytest.mark.parametrize(
    "typed",
    [
        "darcy",
        "DARCY",
        "d’arcy",
        "d'arcy",
        "siobhan",
        "Siobhán",
        "siobhan darcy",
        "D'Arcy, Siobhán",
        "darcy, siobhan",
        "arc",
        "1979-04-02",
        "04/02/1979",
        "darcy 1979-04-02",
        "0143",
        "555-0143",
        "(202) 555-0143",
        "+1 202 555 0143",
        "25550143",
    ],
)
def test_siobhan_darcy_is_found_however_she_is_typed(siobhan, others, typed):
    assert list(search_patients(query=typed)) == [siobhan]


def test_a_date_of_birth_with_a_name_must_both_match(siobhan, others):
    assert list(search_patients(query="darcy 1984-03-12")) == []
    assert list(search_patients(query="1979-04-03")) == [others[1]]


@pytest.mark.parametrize("typed", ["1899-12-31", "2999-01-01", "13/45/1979"])
def test_an_impossible_date_of_birth_is_not_a_date(siobhan, typed):
    # Read as words of a name (or a phone fragment), they match nobody.
    assert list(search_patients(query=typed)) == []


@pytest.mark.parametrize("typed", ["'", "\u2019 , -", "d\x00arcy\x00"])
def test_punctuation_alone_finds_nobody_and_nul_is_dropped(siobhan, typed):
    assert list(search_patients(query=typed)) == ([siobhan] if "\x00" in typed else [])


def test_a_merged_away_patient_is_not_found(siobhan):
    twin = PatientFactory(given_name="Siobhan", family_name="Darcy", merged_into=siobhan)

    assert list(search_patients(query="darcy")) == [siobhan]
    assert twin not in search_patients(query="")


# --- Near misses and ranking (PostgreSQL) -------------------------------------------


@postgresql_only("typo tolerance is pg_trgm's word similarity; SQLite matches parts only")
@pytest.mark.parametrize("typed", ["siobahn", "darcey", "siobhna darcy", "Darcy, Shiobhan"])
def test_a_near_miss_still_finds_her_on_postgresql(siobhan, others, typed):
    # Closest first: "darcey" is also near Darius Cyrus, offered after her.
    assert search_patients(query=typed).first() == siobhan


@postgresql_only("typo tolerance is pg_trgm's word similarity; SQLite matches parts only")
@pytest.mark.parametrize("typed", ["jones", "sam", "darcy brown"])
def test_a_stranger_is_not_a_near_miss(siobhan, typed):
    assert list(search_patients(query=typed)) == []


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite's search has no typos")
def test_sqlite_needs_every_word_to_be_part_of_the_name(siobhan):
    assert list(search_patients(query="siobahn")) == []
    assert list(search_patients(query="siob")) == [siobhan]


@postgresql_only("ranking by trigram similarity is PostgreSQL's")
def test_the_closest_names_come_first_on_postgresql(db):
    annabel = PatientFactory(given_name="Annabel", family_name="Adams")
    anna = PatientFactory(given_name="Anna", family_name="Zed")
    hannah = PatientFactory(given_name="Hannah", family_name="Baker")

    assert list(search_patients(query="anna")) == [anna, annabel, hannah]


@postgresql_only("typo tolerance is pg_trgm's word similarity")
def test_near_misses_are_not_offered_when_someone_has_every_word(siobhan, others):
    # Darius is close to "darcy", but Siobhán D'Arcy is the patient typed.
    assert list(search_patients(query="darcy")) == [siobhan]
    assert others[1] in search_patients(query="darius")


@postgresql_only("typo tolerance is pg_trgm's word similarity")
def test_near_misses_come_closest_first(db):
    darcy = PatientFactory(given_name="Siobhan", family_name="Darcy")
    dorsey = PatientFactory(given_name="Siobhan", family_name="Darcey-Dorsey")

    assert list(search_patients(query="siobahn darcy")) == [darcy, dorsey]


@postgresql_only("the accent rules are compared with PostgreSQL's unaccent")
@pytest.mark.parametrize("name", ["Siobhán", "José María", "Zoë Brontë", "Ångström", "Ñúñez"])
def test_python_and_postgresql_unaccent_agree_on_accents(db, name):
    with connection.cursor() as cursor:
        cursor.execute("SELECT lower(unaccent(%s))", [name])
        (unaccented,) = cursor.fetchone()
    assert normalise(name) == unaccented


@postgresql_only("the index is PostgreSQL's")
def test_search_uses_the_trigram_index_on_postgresql(siobhan):
    Patient.objects.bulk_create(
        Patient(
            given_name=f"Given{n}",
            family_name=f"Family{n}",
            search_text=f"family{n} given{n}",
            date_of_birth=date(1980, 1, 1),
        )
        for n in range(2000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE patients_patient")
        # A table this small is read whole; the bench measures 30,000 patients.
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = search_patients(query="darcey").query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "patient_search_text_trgm" in plan


# --- Every patient picker uses it ------------------------------------------------------


def test_patient_list_finds_darcy_and_shows_last_first(reception_client, siobhan, others):
    response = reception_client.get(reverse("patients:list"), {"q": "d’arcy"})

    assert list(response.context["patients"]) == [siobhan]
    assert "D&#x27;Arcy, Siobhán" in response.content.decode()


def test_patient_list_queries_are_bounded(reception_client, django_assert_max_num_queries):
    PatientFactory.create_batch(30, family_name="Darcy")
    # The session, the user, two of permissions, whether every word matches someone
    # (else near misses), the count, the page of patients, and the nav's inbox bell
    # and rebooking count.
    with django_assert_max_num_queries(9):
        response = reception_client.get(reverse("patients:list"), {"q": "darcy"})
    assert len(response.context["patients"]) == 25


def test_booking_page_picker_finds_darcy(reception_client, siobhan):
    response = reception_client.get(reverse("scheduling:book"), {"q": "darcy, siobhan"})

    assert list(response.context["matches"]) == [siobhan]


def test_walk_in_page_picker_finds_darcy(reception_client, siobhan):
    response = reception_client.get(reverse("scheduling:walk_in"), {"q": "siobhan"})

    assert list(response.context["matches"]) == [siobhan]


def test_api_patient_list_finds_darcy(receptionist, siobhan, others):
    _, token = issue_token(user=receptionist, name="tests")
    api = Client(headers={"Authorization": f"Bearer {token}"})

    page = api.get("/api/v1/patients", {"q": "D’ARCY, siobhan"}).json()

    assert [patient["id"] for patient in page["items"]] == [siobhan.pk]
