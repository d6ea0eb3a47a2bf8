"""The chart the doctor keeps (issue 17, points 1, 2 and 8): allergies with
severity and reaction, "no known allergies" only when recorded, every change to
the record in its history; vitals of every visit as a table and trend charts, in
the clinic's units, typed and checked in them; times in one format; the doctor's
patient page.

The scene: Dr Alan Smith sees Jane Doe (a session in progress), the clock at 15:30
on Monday 2 March 2026 in New York.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.services import merge_patients
from records.exceptions import AppendOnly, Forbidden, InvalidClinicalData, ReasonRequired
from records.forms import ClinicalNoteForm
from records.models import (
    AccessAction,
    AccessLog,
    Allergy,
    ClinicalNote,
    MedicalRecord,
    RecordChange,
    Severity,
)
from records.rules import allergy_names
from records.services import break_the_glass, update_medical_record
from records.units import (
    TEMPERATURE_RANGE_C,
    WEIGHT_RANGE_KG,
    Unit,
    celsius_to_fahrenheit,
    fahrenheit_to_celsius,
    kilograms_to_pounds,
    pounds_to_kilograms,
)
from tests.clock import NEW_YORK
from tests.factories import (
    AllergyFactory,
    ClinicalNoteFactory,
    DoctorFactory,
    MedicalRecordFactory,
    PatientFactory,
    SessionFactory,
)
from tests.helpers import COMMITTED_DATA, signed_in

NOW = datetime(2026, 3, 2, 15, 30, tzinfo=NEW_YORK)
PENICILLIN = {"substance": "Penicillin", "severity": "severe", "reaction": "anaphylaxis"}
LATEX = {"substance": "Latex", "severity": "mild", "reaction": "itching"}


@pytest.fixture(autouse=True)
def monday_afternoon(time_machine) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def session(doctor, jane):
    """Jane's visit to Dr Smith, in progress: she is his patient."""
    return SessionFactory(doctor=doctor, patient=jane, in_progress=True)


def history_of(patient) -> list[tuple[str | None, list[dict]]]:
    """Each change to the patient's record, oldest first: who, and what."""
    return [
        (change.changed_by.username if change.changed_by else None, change.changes)
        for change in RecordChange.objects.filter(record__patient=patient).order_by("pk")
    ]


# Allergies and the record's history.


def test_a_doctor_records_allergies_and_every_change_is_kept_with_who_and_what(
    doctor, jane, session, time_machine
):
    update_medical_record(patient=jane, by=doctor.user, allergies=[PENICILLIN])
    time_machine.move_to(NOW + timedelta(minutes=5), tick=False)
    update_medical_record(
        patient=jane,
        by=doctor.user,
        allergies=[{**PENICILLIN, "severity": "life_threatening"}, LATEX],
        blood_type="A-",
    )
    update_medical_record(patient=jane, by=doctor.user, allergies=[LATEX])

    record = MedicalRecord.objects.get(patient=jane)
    assert allergy_names(record) == ["Latex"]
    user = doctor.user.username
    assert history_of(jane) == [
        (user, [{"field": "allergy", "old": "", "new": "Penicillin (Severe: anaphylaxis)"}]),
        (
            user,
            [
                {"field": "blood_type", "old": "", "new": "A-"},
                {"field": "allergy", "old": "", "new": "Latex (Mild: itching)"},
                {
                    "field": "allergy",
                    "old": "Penicillin (Severe: anaphylaxis)",
                    "new": "Penicillin (Life-threatening: anaphylaxis)",
                },
            ],
        ),
        (
            user,
            [
                {
                    "field": "allergy",
                    "old": "Penicillin (Life-threatening: anaphylaxis)",
                    "new": "",
                }
            ],
        ),
    ]
    second = RecordChange.objects.filter(record=record).order_by("pk")[1]
    assert second.changed_at == NOW + timedelta(minutes=5)
    assert (
        list(AccessLog.objects.filter(action=AccessAction.WRITE).values_list("user", "object_type"))
        == [(doctor.user.pk, "records.medicalrecord")] * 3
    )


def test_who_recorded_an_allergy_and_when_is_kept_on_the_allergy(doctor, jane, session):
    update_medical_record(patient=jane, by=doctor.user, allergies=[PENICILLIN])

    allergy = Allergy.objects.get()
    assert (allergy.severity, allergy.reaction, allergy.recorded_by, allergy.recorded_at) == (
        Severity.SEVERE,
        "anaphylaxis",
        doctor.user,
        NOW,
    )


def test_a_save_that_changes_nothing_adds_no_history(doctor, jane, session):
    update_medical_record(patient=jane, by=doctor.user, allergies=[LATEX], notes="Anxious")
    update_medical_record(patient=jane, by=doctor.user, allergies=[LATEX], notes="Anxious")

    assert len(history_of(jane)) == 1
    assert AccessLog.objects.filter(action=AccessAction.WRITE).count() == 1


def test_fields_are_kept_old_and_new(doctor, jane, session):
    update_medical_record(patient=jane, by=doctor.user, chronic_conditions="Asthma")
    update_medical_record(patient=jane, by=doctor.user, chronic_conditions="Asthma, diabetes")

    assert history_of(jane)[-1][1] == [
        {"field": "chronic_conditions", "old": "Asthma", "new": "Asthma, diabetes"}
    ]


def test_no_known_allergies_is_recorded_and_refused_beside_an_allergy(doctor, jane, session):
    update_medical_record(patient=jane, by=doctor.user, no_known_allergies=True)
    assert MedicalRecord.objects.get(patient=jane).no_known_allergies

    with pytest.raises(InvalidClinicalData) as refused:
        update_medical_record(
            patient=jane, by=doctor.user, no_known_allergies=True, allergies=[LATEX]
        )

    assert "no_known_allergies" in refused.value.errors
    assert not Allergy.objects.exists()
    # Recording an allergy means unticking it, in the same save.
    update_medical_record(patient=jane, by=doctor.user, no_known_allergies=False, allergies=[LATEX])
    assert allergy_names(MedicalRecord.objects.get(patient=jane)) == ["Latex"]


def test_the_same_substance_twice_is_refused_whatever_its_case(doctor, jane, session):
    with pytest.raises(InvalidClinicalData) as refused:
        update_medical_record(
            patient=jane, by=doctor.user, allergies=[LATEX, {"substance": "latex"}]
        )

    assert "listed twice" in refused.value.message
    assert not MedicalRecord.objects.exists()


def test_an_allergy_without_a_substance_or_with_an_unknown_severity_is_refused(
    doctor, jane, session
):
    for wrong in ({"substance": "  "}, {"substance": "Latex", "severity": "deadly"}):
        with pytest.raises(InvalidClinicalData):
            update_medical_record(patient=jane, by=doctor.user, allergies=[wrong])

    assert not Allergy.objects.exists()
    assert not RecordChange.objects.exists()


def test_a_doctor_edits_only_the_charts_they_may_read(jane, session):
    colleague = DoctorFactory(given_name="Grace", family_name="Hopper")

    with pytest.raises(ReasonRequired):
        update_medical_record(patient=jane, by=colleague.user, allergies=[LATEX])
    assert not MedicalRecord.objects.exists()

    grant = break_the_glass(patient=jane, by=colleague.user, reason="medical_emergency")
    update_medical_record(patient=jane, by=colleague.user, emergency=grant, allergies=[LATEX])
    assert allergy_names(MedicalRecord.objects.get(patient=jane)) == ["Latex"]


def test_reception_cannot_edit_allergies(receptionist, jane):
    with pytest.raises(Forbidden):
        update_medical_record(patient=jane, by=receptionist, no_known_allergies=True)

    assert not MedicalRecord.objects.exists()


def test_the_history_cannot_be_changed_or_deleted(doctor, jane, session):
    update_medical_record(patient=jane, by=doctor.user, allergies=[LATEX])
    change = RecordChange.objects.get()

    with pytest.raises(AppendOnly):
        change.save()
    with pytest.raises(AppendOnly):
        change.delete()
    with pytest.raises(AppendOnly):
        RecordChange.objects.update(changes=[])
    with pytest.raises(AppendOnly):
        RecordChange.objects.all().delete()


def test_allergy_names_are_the_recorded_substances(db):
    record = MedicalRecordFactory(allergy__substance="Penicillin")
    AllergyFactory(record=record, substance="Aspirin")

    assert allergy_names(record) == ["Aspirin", "Penicillin"]
    assert allergy_names(None) == []
    assert allergy_names(MedicalRecord()) == []


def test_the_old_free_text_becomes_one_allergy_per_item():
    migration = importlib.import_module("records.migrations.0006_structured_allergies_and_history")

    assert list(
        migration.split_allergies("Penicillin (rash), latex;\nPeanuts (anaphylaxis)\n, LATEX")
    ) == [("Penicillin", "rash"), ("latex", ""), ("Peanuts", "anaphylaxis")]


# The record's form, from the chart and from the session page.


def record_form(*allergies: dict[str, str], **fields: str) -> dict[str, str]:
    data = {
        "allergies-TOTAL_FORMS": str(len(allergies) + 1),
        "allergies-INITIAL_FORMS": "0",
        "allergies-MIN_NUM_FORMS": "0",
        "allergies-MAX_NUM_FORMS": "1000",
        "record-blood_type": "",
        "record-chronic_conditions": "",
        "record-current_medications": "",
        "record-notes": "",
        # The spare blank row the page offers, left empty.
        f"allergies-{len(allergies)}-severity": "unknown",
    }
    for number, allergy in enumerate(allergies):
        for name, value in allergy.items():
            data[f"allergies-{number}-{name}"] = value
    return {**data, **{f"record-{name}": value for name, value in fields.items()}}


def test_the_doctor_records_an_allergy_from_the_chart(doctor_client, doctor, jane, session):
    url = reverse("records:edit_record", args=[jane.pk])
    assert doctor_client.get(url).status_code == 200

    response = doctor_client.post(url, record_form(PENICILLIN, LATEX, blood_type="O+"))

    assert response["Location"] == reverse("records:chart", args=[jane.pk])
    record = MedicalRecord.objects.get(patient=jane)
    assert (allergy_names(record), record.blood_type) == (["Latex", "Penicillin"], "O+")
    chart = doctor_client.get(response["Location"]).content.decode()
    assert 'data-allergies="recorded"' in chart
    assert "anaphylaxis" in chart
    assert "History: 1 change" in chart


def test_an_allergy_removed_on_the_form_is_gone_and_in_the_history(
    doctor_client, doctor, jane, session
):
    update_medical_record(patient=jane, by=doctor.user, allergies=[PENICILLIN, LATEX])
    kept, removed = Allergy.objects.order_by("substance")
    data = record_form()
    data.update(
        {
            "allergies-TOTAL_FORMS": "2",
            "allergies-INITIAL_FORMS": "2",
            "allergies-0-id": str(kept.pk),
            "allergies-0-substance": "Latex",
            "allergies-0-severity": "mild",
            "allergies-0-reaction": "itching",
            "allergies-1-id": str(removed.pk),
            "allergies-1-substance": "Penicillin",
            "allergies-1-severity": "severe",
            "allergies-1-reaction": "anaphylaxis",
            "allergies-1-DELETE": "on",
        }
    )

    response = doctor_client.post(reverse("records:edit_record", args=[jane.pk]), data)

    assert response.status_code == 302
    assert allergy_names(MedicalRecord.objects.get(patient=jane)) == ["Latex"]
    assert history_of(jane)[-1][1] == [
        {"field": "allergy", "old": "Penicillin (Severe: anaphylaxis)", "new": ""}
    ]


def test_the_form_from_the_session_page_goes_back_to_it(doctor_client, jane, session):
    session_url = reverse("records:session", args=[session.pk])
    page = doctor_client.get(session_url).content.decode()
    edit = reverse("records:edit_record", args=[jane.pk])
    assert f'href="{edit}?next={session_url}"' in page

    response = doctor_client.post(
        f"{edit}?next={session_url}", {**record_form(LATEX), "next": session_url}
    )

    assert response["Location"] == session_url
    assert "Latex" in doctor_client.get(session_url).content.decode()


def test_a_next_to_another_site_is_ignored(doctor_client, jane, session):
    response = doctor_client.post(
        reverse("records:edit_record", args=[jane.pk]),
        {**record_form(LATEX), "next": "https://evil.example.com/"},
    )

    assert response["Location"] == reverse("records:chart", args=[jane.pk])


def test_no_known_allergies_beside_an_allergy_is_shown_as_an_error_and_saves_nothing(
    doctor_client, jane, session
):
    response = doctor_client.post(
        reverse("records:edit_record", args=[jane.pk]),
        record_form(LATEX, no_known_allergies="on"),
    )

    assert response.status_code == 400
    assert "Untick “No known allergies”" in response.content.decode()
    assert not MedicalRecord.objects.exists()


def test_a_doubled_substance_on_the_form_is_an_error(doctor_client, jane, session):
    response = doctor_client.post(
        reverse("records:edit_record", args=[jane.pk]),
        record_form(LATEX, {"substance": "LATEX", "severity": "mild"}),
    )

    assert response.status_code == 400
    assert "LATEX is listed twice." in response.content.decode()
    assert not MedicalRecord.objects.exists()


def test_reception_and_other_doctors_cannot_open_the_form(reception_client, jane, session):
    url = reverse("records:edit_record", args=[jane.pk])
    assert reception_client.get(url).status_code == 403
    assert reception_client.post(url, record_form(LATEX)).status_code == 403

    colleague = signed_in(DoctorFactory().user)
    response = colleague.get(url)
    assert response["Location"] == reverse("records:emergency_access", args=[jane.pk])
    assert colleague.post(url, record_form(LATEX)).status_code == 302
    assert not MedicalRecord.objects.exists()


# The allergy box on every clinical page.


def allergy_state(html: str) -> str:
    return html.split('data-allergies="', 1)[1].split('"', 1)[0]


def test_the_allergy_box_says_not_recorded_until_the_doctor_says_none(
    doctor_client, doctor, jane, session
):
    chart = reverse("records:chart", args=[jane.pk])
    page = doctor_client.get(chart).content.decode()
    assert allergy_state(page) == "not-recorded"
    assert "Allergies not recorded" in page
    assert "No known allergies" not in page

    update_medical_record(patient=jane, by=doctor.user, chronic_conditions="Asthma")
    assert allergy_state(doctor_client.get(chart).content.decode()) == "not-recorded"

    update_medical_record(patient=jane, by=doctor.user, no_known_allergies=True)
    page = doctor_client.get(chart).content.decode()
    assert allergy_state(page) == "none"
    assert "Allergies not recorded" not in page


def test_the_allergies_are_on_the_session_page_and_the_printed_prescription(
    doctor_client, doctor, jane, session
):
    from records.services import add_prescription

    update_medical_record(patient=jane, by=doctor.user, allergies=[PENICILLIN])
    prescription = add_prescription(
        session=session,
        by=doctor.user,
        items=[{"medication": "Azithromycin", "dose": "1 tablet", "frequency": "daily"}],
    )

    for url in (
        reverse("records:session", args=[session.pk]),
        reverse("records:print_prescription", args=[prescription.pk]),
    ):
        page = doctor_client.get(url).content.decode()
        assert allergy_state(page) == "recorded"
        assert "Penicillin" in page
        assert "anaphylaxis" in page
    # Nothing to click on paper.
    assert "Edit allergies" not in page


# Vitals: units, the note form, the chart.


def test_temperatures_convert_both_ways():
    assert celsius_to_fahrenheit(Decimal("37")) == Decimal("98.6")
    assert fahrenheit_to_celsius(Decimal("98.6")) == Decimal("37")
    assert celsius_to_fahrenheit(Decimal("-40")) == Decimal("-40")
    assert fahrenheit_to_celsius(Decimal("212")) == Decimal("100")


def test_weights_convert_both_ways():
    assert kilograms_to_pounds(Decimal("1")).quantize(Decimal("0.001")) == Decimal("2.205")
    assert pounds_to_kilograms(Decimal("220.462262185")) == Decimal("100")
    assert Unit("lb", "lb").to_stored(Decimal("154.3")) == Decimal("69.99")
    assert Unit("lb", "lb").from_stored(Decimal("69.99")) == Decimal("154.3")


@pytest.mark.parametrize(
    ("unit", "start", "stop"),
    [(Unit("F", "°F"), 860, 1130), (Unit("lb", "lb"), 7, 11023), (Unit("C", "°C"), 300, 450)],
)
def test_every_value_typed_to_a_tenth_reads_back_as_typed(unit, start, stop):
    for tenths in range(start, stop + 1):
        typed = Decimal(tenths) / 10
        assert unit.from_stored(unit.to_stored(typed)) == typed, typed


def test_the_ranges_in_the_shown_units_stay_inside_the_stored_ones():
    fahrenheit, pounds = Unit("F", "°F"), Unit("lb", "lb")

    assert fahrenheit.typed_range(TEMPERATURE_RANGE_C) == (Decimal("86.0"), Decimal("113.0"))
    assert pounds.typed_range(WEIGHT_RANGE_KG) == (Decimal("0.7"), Decimal("1102.3"))
    for unit, (low, high), stored in (
        (fahrenheit, fahrenheit.typed_range(TEMPERATURE_RANGE_C), TEMPERATURE_RANGE_C),
        (pounds, pounds.typed_range(WEIGHT_RANGE_KG), WEIGHT_RANGE_KG),
    ):
        assert stored[0] <= unit.to_stored(low)
        assert unit.to_stored(high) <= stored[1]


def note_form(note: ClinicalNote, **vitals: str) -> ClinicalNoteForm:
    return ClinicalNoteForm(
        {f"note-{name}": value for name, value in vitals.items()}, instance=note, prefix="note"
    )


def test_the_note_form_takes_fahrenheit_and_pounds_and_stores_celsius_and_kilograms(
    settings, session
):
    settings.CLINIC_TEMPERATURE_UNIT, settings.CLINIC_WEIGHT_UNIT = "F", "lb"
    form = note_form(ClinicalNote(session=session), temperature_c="98.6", weight_kg="154.3")

    assert form.is_valid(), form.errors
    assert (form.cleaned_data["temperature_c"], form.cleaned_data["weight_kg"]) == (
        Decimal("37.00"),
        Decimal("69.99"),
    )
    assert form.fields["temperature_c"].label == "Temperature (°F)"


def test_the_note_form_shows_the_stored_vitals_in_the_clinics_units(settings, session):
    settings.CLINIC_TEMPERATURE_UNIT, settings.CLINIC_WEIGHT_UNIT = "F", "lb"
    note = ClinicalNoteFactory(
        session=session, temperature_c=Decimal("38.5"), weight_kg=Decimal("70")
    )

    form = ClinicalNoteForm(instance=note, prefix="note")

    assert (form.initial["temperature_c"], form.initial["weight_kg"]) == (
        Decimal("101.3"),
        Decimal("154.3"),
    )


@pytest.mark.parametrize(
    ("units", "vitals", "message"),
    [
        (("F", "lb"), {"temperature_c": "113.1"}, "between 86.0 and 113.0 °F"),
        (("F", "lb"), {"temperature_c": "37"}, "between 86.0 and 113.0 °F"),
        (("C", "kg"), {"temperature_c": "98.6"}, "between 30.0 and 45.0 °C"),
        (("F", "lb"), {"weight_kg": "1102.4"}, "between 0.7 and 1102.3 lb"),
        (("C", "kg"), {"weight_kg": "600"}, "between 0.3 and 500.0 kg"),
    ],
)
def test_the_ranges_are_checked_in_the_unit_typed(settings, session, units, vitals, message):
    settings.CLINIC_TEMPERATURE_UNIT, settings.CLINIC_WEIGHT_UNIT = units
    form = note_form(ClinicalNote(session=session), **vitals)

    assert not form.is_valid()
    assert message in " ".join(form.errors[next(iter(vitals))])


def visits_with_vitals(doctor, patient, count: int, *, weeks_back: int = 0) -> None:
    """`count` completed visits, a week apart, up to `weeks_back` weeks ago, each
    with its vitals."""
    for week in range(count):
        visit = SessionFactory(
            doctor=doctor,
            patient=patient,
            completed=True,
            appointment__starts_at=NOW - timedelta(weeks=weeks_back + count - week),
        )
        ClinicalNoteFactory(
            session=visit,
            bp_systolic=130 - week,
            bp_diastolic=85 - week,
            pulse=70 + week,
            temperature_c=Decimal("36.8"),
            weight_kg=Decimal("80") - week,
        )


def test_the_chart_shows_every_visits_vitals_as_a_table_and_trend_charts(
    doctor_client, doctor, jane, settings
):
    settings.CLINIC_WEIGHT_UNIT = "lb"
    visits_with_vitals(doctor, jane, 8)

    response = doctor_client.get(reverse("records:chart", args=[jane.pk]))

    rows = response.context["vitals"]
    assert len(rows) == 8
    assert (rows[0].bp_systolic, rows[0].pulse, rows[0].weight) == (123, 77, Decimal("160.9"))
    page = response.content.decode()
    for chart in ("blood-pressure", "pulse", "weight"):
        assert f'data-testid="trend-{chart}"' in page
    assert '<title id="trend-weight-title">Weight (lb)</title>' in page
    assert "<td>160.9</td>" in page


def test_a_chart_without_vitals_says_so(doctor_client, jane, session):
    page = doctor_client.get(reverse("records:chart", args=[jane.pk])).content.decode()

    assert "No vitals recorded yet." in page
    assert "<svg" not in page.split("Vitals", 1)[1].split("Sessions", 1)[0]


def count_queries(client, url) -> int:
    from django.db import connection

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_chart_page_runs_the_same_queries_with_many_visits(doctor_client, doctor, jane):
    url = reverse("records:chart", args=[jane.pk])
    visits_with_vitals(doctor, jane, 2)
    update_medical_record(patient=jane, by=doctor.user, allergies=[LATEX])
    few = count_queries(doctor_client, url)

    visits_with_vitals(doctor, jane, 30, weeks_back=2)
    for number in range(10):
        update_medical_record(
            patient=jane, by=doctor.user, allergies=[LATEX, {"substance": f"Drug {number}"}]
        )

    assert count_queries(doctor_client, url) == few


# The doctor's patient page and one time format.


def test_the_doctors_patient_page_links_the_chart_and_lists_the_appointments(
    doctor_client, reception_client, jane, session
):
    url = reverse("patients:detail", args=[jane.pk])
    chart = reverse("records:chart", args=[jane.pk])

    page = doctor_client.get(url).content.decode()
    assert f'href="{chart}"' in page
    assert session.appointment.get_absolute_url() in page
    assert f'href="{chart}"' not in reception_client.get(url).content.decode()


@pytest.mark.parametrize(("setting", "shown"), [("24h", "14:05"), ("12h", "2:05 PM")])
def test_times_follow_the_clinics_format(settings, setting, shown):
    settings.CLINIC_TIME_FORMAT = setting
    moment = datetime(2026, 3, 2, 14, 5, tzinfo=NEW_YORK)

    rendered = Template("{{ moment|clock }}|{{ moment|stamp }}|{{ of_day|clock }}").render(
        Context({"moment": moment, "of_day": time(14, 5)})
    )

    assert rendered == f"{shown}|2026-03-02 {shown}|{shown}"


def test_an_appointments_page_shows_times_in_the_12_hour_format_when_set(
    settings, reception_client, doctor, jane
):
    settings.CLINIC_TIME_FORMAT = "12h"
    visit = SessionFactory(
        doctor=doctor,
        patient=jane,
        appointment__starts_at=datetime(2026, 3, 2, 14, 30, tzinfo=NEW_YORK),
    )

    page = reception_client.get(visit.appointment.get_absolute_url()).content.decode()

    assert "2:30 PM" in page
    assert "14:30" not in page


BEFORE_ROWS = ("records", "0005_accesslog_append_only_trigger")
ROWS = ("records", "0006_structured_allergies_and_history")


@COMMITTED_DATA
def test_the_migration_turns_the_free_text_into_allergies_and_keeps_it_in_the_history():
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE_ROWS])
    old = executor.loader.project_state([BEFORE_ROWS]).apps.get_model("records", "MedicalRecord")
    with_text, saying_none, empty = (PatientFactory() for _ in range(3))
    old.objects.create(patient_id=with_text.pk, allergies="Penicillin (rash), latex")
    old.objects.create(patient_id=saying_none.pk, allergies="NKA")
    old.objects.create(patient_id=empty.pk, allergies="")

    executor = MigrationExecutor(connection)
    executor.migrate([ROWS])
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    records = {record.patient_id: record for record in MedicalRecord.objects.all()}
    assert [
        (allergy.substance, allergy.reaction, allergy.severity)
        for allergy in records[with_text.pk].allergies.all()
    ] == [("latex", "", "unknown"), ("Penicillin", "rash", "unknown")]
    assert history_of(with_text)[0][1][0] == {
        "field": "allergies_text",
        "old": "Penicillin (rash), latex",
        "new": "",
    }
    assert records[saying_none.pk].no_known_allergies
    assert not records[saying_none.pk].allergies.exists()
    assert not records[empty.pk].no_known_allergies
    assert history_of(empty) == []


def test_an_unknown_unit_or_time_format_stops_the_start(tmp_path):
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    for variable, value in (
        ("CLINIC_TEMPERATURE_UNIT", "K"),
        ("CLINIC_WEIGHT_UNIT", "stone"),
        ("CLINIC_TIME_FORMAT", "13h"),
    ):
        result = subprocess.run(
            [sys.executable, "-c", "import django; django.setup()"],
            cwd=Path(__file__).resolve().parent.parent,
            env={
                "PATH": os.environ["PATH"],
                "DJANGO_SETTINGS_MODULE": "clinic.settings",
                "ENV_FILE": str(env_file),
                "DEBUG": "true",
                variable: value,
            },
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode != 0
        assert f"{variable} must be" in result.stderr


# --- A patient registered twice and merged --------------------------------------------


@pytest.fixture
def jane_twice(doctor, jane, session, manager):
    """Jane's duplicate registration, merged into her kept one."""
    duplicate = PatientFactory(given_name="Jane", family_name="Doe")
    merge_patients(kept=jane, merged=duplicate, by=manager)
    return duplicate


def test_the_merged_away_registrations_chart_pages_lead_to_the_kept_one(
    doctor_client, jane, jane_twice
):
    for name in ("records:chart", "records:edit_record"):
        response = doctor_client.get(reverse(name, args=[jane_twice.pk]))

        assert response["Location"] == reverse(name, args=[jane.pk])


def test_an_allergy_posted_to_the_merged_away_registration_is_not_saved_apart(
    doctor_client, jane, jane_twice
):
    url = reverse("records:edit_record", args=[jane_twice.pk])

    response = doctor_client.post(url, record_form(LATEX))

    assert response["Location"] == url.replace(str(jane_twice.pk), str(jane.pk), 1)
    assert not MedicalRecord.objects.filter(patient=jane_twice).exists()


def test_the_service_refuses_a_record_for_a_merged_away_registration(manager, jane_twice):
    # A manager reads any chart, so only the merge stands in the way.
    with pytest.raises(InvalidClinicalData, match="merged into patient"):
        update_medical_record(patient=jane_twice, by=manager, blood_type="A+")
    assert not MedicalRecord.objects.filter(patient=jane_twice).exists()
