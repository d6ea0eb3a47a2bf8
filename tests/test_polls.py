"""Polls that cost nothing (issue 21, point 3): the polled fragments (the doctor's
day with its queue, every 20 s; the live alerts with the nav's bell, every 10 s)
answer an unchanged poll with 304 from a marker of at most two small queries, and
a changed one with 200 and the new content."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications.models import Channel, Notification
from notifications.models import Status as NotificationStatus
from scheduling.models import Status
from tests.clock import MONDAY, at
from tests.factories import AppointmentFactory, NotificationFactory, PatientFactory
from tests.helpers import signed_in

POLL = {"HX-Request": "true", "X-Clinic-Poll": "true"}
MY_DAY = reverse("scheduling:my_day") + "?date=2026-11-30"
LIVE = reverse("notifications:live")


def alert(user, **fields) -> Notification:
    fields.setdefault("status", NotificationStatus.SENT)
    return NotificationFactory(user=user, patient=None, channel=Channel.IN_APP, **fields)


def poll(client, url: str, etag: str | None = None):
    headers = dict(POLL)
    if etag:
        headers["If-None-Match"] = etag
    return client.get(url, headers=headers)


def reads(captured, *tables: str) -> bool:
    """Whether each query of a request reads the table named for it, in turn."""
    return len(captured) == len(tables) and all(
        f'FROM "{table}"' in query["sql"] for query, table in zip(captured, tables, strict=True)
    )


@pytest.fixture
def doctor_client(doctor_client):
    """The doctor's screen: the page around the fragments loaded first, as a browser
    does (it sets the CSRF cookie that the fragments' forms carry)."""
    doctor_client.get(reverse("scheduling:my_day"))
    return doctor_client


@pytest.fixture
def reception_client(reception_client):
    reception_client.get(reverse("scheduling:day"))
    return reception_client


@pytest.fixture
def day(doctor):
    anna = PatientFactory(given_name="Anna", family_name="Smithson")
    return [
        AppointmentFactory(doctor=doctor, patient=anna, starts_at=at(MONDAY, 9)),
        AppointmentFactory(doctor=doctor, starts_at=at(MONDAY, 10)),
    ]


# --- The doctor's day ---------------------------------------------------------------


def test_an_unchanged_poll_of_my_day_gets_304(doctor_client, day):
    first = poll(doctor_client, MY_DAY)
    assert first.status_code == 200
    assert "Anna Smithson" in first.content.decode()
    assert first["Cache-Control"] in {"private, no-cache", "no-cache, private"}
    assert "HX-Request" in first["Vary"]

    again = poll(doctor_client, MY_DAY, first["ETag"])

    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]


def test_a_changed_day_gets_200_with_the_new_content(doctor_client, doctor, day):
    etag = poll(doctor_client, MY_DAY)["ETag"]
    # Straight to the table, as a queryset update (no updated_at moves): still seen.
    type(day[0]).objects.filter(pk=day[0].pk).update(
        status=Status.ARRIVED, arrived_at=at(MONDAY, 8, 50)
    )

    changed = poll(doctor_client, MY_DAY, etag)

    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert 'data-testid="queue"' in changed.content.decode()
    assert poll(doctor_client, MY_DAY, changed["ETag"]).status_code == 304


@pytest.mark.parametrize(
    "change",
    [
        "rename_patient",
        "new_appointment",
        "other_day",
        "lose_permission",
    ],
)
def test_whatever_the_fragment_shows_changes_its_etag(doctor_client, doctor, day, change):
    etag = poll(doctor_client, MY_DAY)["ETag"]
    url = MY_DAY
    if change == "rename_patient":
        day[0].patient.__class__.objects.filter(pk=day[0].patient_id).update(given_name="Ana")
    elif change == "new_appointment":
        AppointmentFactory(doctor=doctor, starts_at=at(MONDAY, 11))
    elif change == "other_day":
        url = reverse("scheduling:my_day") + "?date=2026-12-01"
    elif change == "lose_permission":
        doctor.user.groups.first().permissions.remove(
            Permission.objects.get(
                codename="change_session", content_type__app_label="sessions_app"
            )
        )

    assert poll(doctor_client, url, etag).status_code == 200


def test_another_doctors_day_changing_keeps_the_304(doctor_client, doctor, day):
    etag = poll(doctor_client, MY_DAY)["ETag"]
    AppointmentFactory(starts_at=at(MONDAY, 11))  # Someone else's patient.

    assert poll(doctor_client, MY_DAY, etag).status_code == 304


def test_the_full_page_of_my_day_gets_no_etag(doctor_client, day):
    response = doctor_client.get(MY_DAY)

    assert response.status_code == 200
    assert not response.has_header("ETag")
    assert "HX-Request" in response["Vary"]


def test_my_day_304_costs_two_queries(doctor_client, day, django_assert_num_queries):
    etag = poll(doctor_client, MY_DAY)["ETag"]

    # The session with its user and their permissions, then the marker: the doctor
    # with the day's rows.
    with django_assert_num_queries(2), CaptureQueriesContext(connection) as captured:
        response = poll(doctor_client, MY_DAY, etag)

    assert response.status_code == 304
    assert reads(captured, "clinic_staffsession", "doctors_doctor")


def test_an_empty_day_304_costs_two_queries(doctor_client, doctor, django_assert_num_queries):
    etag = poll(doctor_client, MY_DAY)["ETag"]

    with django_assert_num_queries(2):
        assert poll(doctor_client, MY_DAY, etag).status_code == 304


def test_a_login_unlinked_from_its_doctor_loses_the_empty_day(doctor_client, doctor):
    etag = poll(doctor_client, MY_DAY)["ETag"]
    type(doctor).objects.filter(pk=doctor.pk).update(user=None)

    assert poll(doctor_client, MY_DAY, etag).status_code == 403


def test_my_day_marker_stays_two_queries_with_a_long_day(
    doctor_client, doctor, day, django_assert_num_queries
):
    for minutes in range(0, 360, 30):
        AppointmentFactory(doctor=doctor, starts_at=at(MONDAY, 13) + timedelta(minutes=minutes))
    etag = poll(doctor_client, MY_DAY)["ETag"]

    with django_assert_num_queries(2):
        assert poll(doctor_client, MY_DAY, etag).status_code == 304


# --- The live alerts and the bell -----------------------------------------------------


def test_an_unchanged_poll_of_the_live_alerts_gets_304(doctor_client, doctor):
    alert(doctor.user, body="Anna Smithson has arrived.")
    first = poll(doctor_client, LIVE)
    assert first.status_code == 200
    assert "Anna Smithson has arrived." in first.content.decode()

    assert poll(doctor_client, LIVE, first["ETag"]).status_code == 304


def test_a_new_alert_gets_200_with_it_and_the_bell(doctor_client, doctor):
    etag = poll(doctor_client, LIVE)["ETag"]
    alert(doctor.user, body="Bob Brown has arrived.")

    changed = poll(doctor_client, LIVE, etag)

    assert changed.status_code == 200
    content = changed.content.decode()
    assert "Bob Brown has arrived." in content
    assert 'data-testid="bell-count">1<' in content


def test_reading_an_alert_elsewhere_changes_the_live_fragment(doctor_client, doctor):
    message = alert(doctor.user, body="Anna Smithson has arrived.")
    etag = poll(doctor_client, LIVE)["ETag"]
    Notification.objects.filter(pk=message.pk).update(read_at=timezone.now())

    changed = poll(doctor_client, LIVE, etag)

    assert changed.status_code == 200
    assert "Anna Smithson" not in changed.content.decode()


def test_someone_elses_alert_keeps_the_304(doctor_client, doctor, receptionist):
    etag = poll(doctor_client, LIVE)["ETag"]
    alert(receptionist, body="For reception.")

    assert poll(doctor_client, LIVE, etag).status_code == 304


def test_without_a_csrf_cookie_a_poll_gets_no_etag(doctor, db):
    response = poll(signed_in(doctor.user), LIVE)

    assert response.status_code == 200
    assert not response.has_header("ETag")


def test_another_user_never_shares_an_etag(doctor_client, reception_client):
    etag = poll(doctor_client, LIVE)["ETag"]

    assert poll(reception_client, LIVE, etag).status_code == 200


def test_live_304_costs_two_queries(doctor_client, doctor, django_assert_num_queries):
    for n in range(8):
        alert(doctor.user, body=f"Patient {n} has arrived.")
    etag = poll(doctor_client, LIVE)["ETag"]

    # The session with its user, then the marker: the newest unread with their count.
    with django_assert_num_queries(2), CaptureQueriesContext(connection) as captured:
        response = poll(doctor_client, LIVE, etag)

    assert response.status_code == 304
    assert reads(captured, "clinic_staffsession", "notifications_notification")


def test_the_bell_counts_every_unread_alert_beyond_those_shown(doctor_client, doctor):
    for n in range(7):
        alert(doctor.user, body=f"Patient {n} has arrived.")
    etag = poll(doctor_client, LIVE)["ETag"]
    alert(doctor.user, body="Patient 7 has arrived.")

    changed = poll(doctor_client, LIVE, etag)

    assert changed.status_code == 200
    assert 'data-testid="bell-count">8<' in changed.content.decode()
    assert poll(doctor_client, LIVE, changed["ETag"]).status_code == 304


def test_a_poll_never_moves_the_idle_session(doctor_client, doctor):
    """The 304 path writes nothing: no session save, however often it polls."""
    etag = poll(doctor_client, LIVE)["ETag"]

    with CaptureQueriesContext(connection) as captured:
        poll(doctor_client, LIVE, etag)

    assert not [q for q in captured if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))]
