"""Waitlist holds through the API (issue 18): a live hold is listed with its status
(it keeps its time); one that lapsed was never an appointment and is left out,
unless its status is asked for."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scheduling.models import Status
from tests.clock import MONDAY, at
from tests.factories import AppointmentFactory

NEXT_MONDAY = MONDAY + timedelta(days=7)


@pytest.fixture
def holds(smith, jane, bob, consultation):
    live = AppointmentFactory(
        doctor=smith,
        patient=jane,
        service=consultation,
        starts_at=at(NEXT_MONDAY, 10),
        status=Status.HELD,
    )
    lapsed = AppointmentFactory(
        doctor=smith,
        patient=bob,
        service=consultation,
        starts_at=at(NEXT_MONDAY, 11),
        status=Status.RELEASED,
    )
    return live, lapsed


def listed(client, query: str = "") -> list[tuple[int, str]]:
    answer = client.get(f"/api/v1/appointments{query}")
    assert answer.status_code == 200
    return [(row["id"], row["status"]) for row in answer.json()["items"]]


def test_a_lapsed_hold_is_not_listed(reception_api, holds):
    live, lapsed = holds

    assert listed(reception_api) == [(live.pk, "held")]
    assert listed(reception_api, "?status=released") == [(lapsed.pk, "released")]
