"""Clinical access, earned (DESIGN.md section 6): addenda by the note's author or a
manager only.

The scene: Dr Alan Smith saw Jane Doe in March; Dr Grace Hopper never did. The
clock stands at 10:00 on Monday 30 November 2026 in New York.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from records.exceptions import Forbidden, NotSigned
from records.models import Addendum
from records.rules import addendum_refusal, can_add_addendum
from records.services import add_addendum
from tests.factories import (
    ClinicalNoteFactory,
    DoctorFactory,
    PatientFactory,
    PrescriptionItemFactory,
    SessionFactory,
)

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=NEW_YORK)


@pytest.fixture(autouse=True)
def monday_morning(time_machine) -> None:
    time_machine.move_to(NOW, tick=False)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def jane(db):
    return PatientFactory(given_name="Jane", family_name="Doe")


@pytest.fixture
def visit(doctor, jane):
    """Jane's completed visit with Dr Smith, its note signed."""
    session = SessionFactory(doctor=doctor, patient=jane, completed=True)
    ClinicalNoteFactory(session=session, signed_at=session.completed_at, signed_by=doctor.user)
    PrescriptionItemFactory(prescription__session=session)
    return session


@pytest.fixture
def note(visit):
    return visit.clinical_note


@pytest.fixture
def colleague(db):
    return DoctorFactory(given_name="Grace", family_name="Hopper")


@pytest.fixture
def colleague_client(colleague) -> Client:
    return client_for(colleague.user)


def chart_url(patient) -> str:
    return reverse("records:chart", args=[patient.pk])


# Addenda: the note's author or a manager.


def test_one_rule_says_who_adds_an_addendum(doctor, colleague, manager, receptionist, note):
    assert can_add_addendum(note=note, user=doctor.user)
    assert can_add_addendum(note=note, user=manager)
    assert isinstance(addendum_refusal(note=note, user=colleague.user), Forbidden)
    assert isinstance(addendum_refusal(note=note, user=receptionist), Forbidden)


def test_an_unsigned_note_takes_no_addendum_even_from_its_author(doctor, jane):
    unsigned = ClinicalNoteFactory(session__doctor=doctor, session__patient=jane)

    assert isinstance(addendum_refusal(note=unsigned, user=doctor.user), NotSigned)
    # Another doctor learns nothing about the note's state: they are refused first.
    assert isinstance(addendum_refusal(note=unsigned, user=DoctorFactory().user), Forbidden)


def test_the_author_adds_an_addendum_on_the_chart_page(doctor_client, doctor, jane, note):
    url = reverse("records:add_addendum", args=[note.pk])
    assert url in doctor_client.get(chart_url(jane)).content.decode()

    response = doctor_client.post(url, {"text": "MRI normal."}, follow=True)

    assert "Addendum added." in response.content.decode()
    assert list(note.addenda.values_list("author", "text")) == [(doctor.user.pk, "MRI normal.")]


def test_a_manager_adds_an_addendum_on_the_chart_page(manager_client, manager, jane, note):
    url = reverse("records:add_addendum", args=[note.pk])
    assert url in manager_client.get(chart_url(jane)).content.decode()

    manager_client.post(url, {"text": "Author left the clinic; see letter."})

    assert list(note.addenda.values_list("author", flat=True)) == [manager.pk]


def test_a_colleague_is_offered_no_addendum_form_and_is_refused_by_the_page(
    colleague_client, colleague, jane, note
):
    url = reverse("records:add_addendum", args=[note.pk])

    chart = colleague_client.get(chart_url(jane)).content.decode()
    response = colleague_client.post(url, {"text": "Seen at follow-up."}, follow=True)

    assert "Assessment" in chart
    assert url not in chart
    assert "Only the note&#x27;s author or a manager can add an addendum" in (
        response.content.decode()
    )
    assert not Addendum.objects.exists()


def test_a_colleague_cannot_add_an_addendum_through_the_service(colleague, note):
    with pytest.raises(Forbidden):
        add_addendum(note=note, by=colleague.user, text="Seen at follow-up.")

    assert not Addendum.objects.exists()
