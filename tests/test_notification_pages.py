"""The staff pages of notifications: reception's outbox, each user's inbox and bell,
the doctor's live alerts, and the manager's admin."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.dispatch import dispatch_due
from notifications.models import Notification, Status
from scheduling.models import Status as AppointmentStatus
from tests.clock import at
from tests.factories import (
    AppointmentFactory,
    DoctorUserFactory,
    NotificationFactory,
    PatientFactory,
    ReceptionistFactory,
    UserFactory,
)
from tests.helpers import signed_in

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 11:00 in the clinic (EDT)


@pytest.fixture(autouse=True)
def tuesday_morning(time_machine):
    time_machine.move_to(NOW, tick=False)


def sms(**fields) -> Notification:
    return NotificationFactory(**fields)


def alert(user, **fields) -> Notification:
    """An in-app message the worker has put in `user`'s inbox."""
    fields.setdefault("status", Status.SENT)
    return NotificationFactory(user=user, patient=None, channel="in_app", **fields)


def listed(response) -> list[Notification]:
    return list(response.context["notifications"])


def bell_count(response) -> int:
    match = re.search(r'data-testid="bell-count">(\d+)<', response.content.decode())
    return int(match[1]) if match else 0


# --- Who may open what -------------------------------------------------------------


def page_requests(notification) -> list[tuple[str, str]]:
    return [
        ("get", reverse("notifications:outbox")),
        ("post", reverse("notifications:retry", args=[notification.pk])),
        ("post", reverse("notifications:cancel", args=[notification.pk])),
        ("get", reverse("notifications:inbox")),
        ("post", reverse("notifications:read_all")),
        ("post", reverse("notifications:open", args=[notification.pk])),
        ("get", reverse("notifications:live")),
    ]


def test_anonymous_visitor_is_sent_to_sign_in_from_every_page(client, db):
    for method, url in page_requests(sms()):
        response = getattr(client, method)(url)

        assert response.status_code == 302, url
        assert response["Location"] == f"{reverse('login')}?next={url}"


def test_doctor_cannot_open_the_outbox(doctor_client):
    assert doctor_client.get(reverse("notifications:outbox")).status_code == 403


@pytest.mark.parametrize("action", ["retry", "cancel"])
def test_doctor_cannot_retry_or_cancel_a_message(doctor_client, action):
    message = sms(status=Status.FAILED if action == "retry" else Status.PENDING)
    before = message.status

    response = doctor_client.post(reverse(f"notifications:{action}", args=[message.pk]))

    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == before


@pytest.mark.parametrize("role_client", ["reception_client", "manager_client"])
def test_reception_and_managers_open_the_outbox(request, db, role_client):
    message = sms()
    client = request.getfixturevalue(role_client)

    response = client.get(reverse("notifications:outbox"))

    assert response.status_code == 200
    assert listed(response) == [message]
    assert 'action="{}"'.format(reverse("notifications:cancel", args=[message.pk])) in (
        response.content.decode()
    )


def test_watching_the_outbox_without_managing_it_shows_no_buttons_and_refuses_actions(db):
    watcher = UserFactory()
    watcher.user_permissions.add(Permission.objects.get(codename="view_notification"))
    message = sms(status=Status.FAILED)
    client = signed_in(watcher)

    page = client.get(reverse("notifications:outbox"))
    refused = client.post(reverse("notifications:retry", args=[message.pk]))

    assert page.status_code == 200
    assert "Retry</button>" not in page.content.decode()
    assert refused.status_code == 403


@pytest.mark.parametrize("role", ["receptionist", "manager", "doctor"])
def test_every_staff_member_sees_only_their_own_inbox(request, role):
    person = request.getfixturevalue(role)
    user = person.user if role == "doctor" else person
    own = alert(user, body="Anna Smithson has arrived for 9:00 AM.")
    alert(ReceptionistFactory(), body="Someone else's message.")
    client = signed_in(user)

    response = client.get(reverse("notifications:inbox"))

    assert response.status_code == 200
    assert listed(response) == [own]
    assert "Someone else&#x27;s message." not in response.content.decode()


def test_inbox_leaves_out_messages_not_yet_delivered_and_other_channels(doctor_client, doctor):
    shown = alert(doctor.user)
    alert(doctor.user, status=Status.PENDING)
    alert(doctor.user, status=Status.FAILED)
    NotificationFactory(user=doctor.user, patient=None, channel="email", status=Status.SENT)

    response = doctor_client.get(reverse("notifications:inbox"))

    assert listed(response) == [shown]


def test_unknown_message_is_not_found(reception_client, db):
    for name in ["retry", "cancel", "open"]:
        response = reception_client.post(reverse(f"notifications:{name}", args=[999999]))
        assert response.status_code == 404, name


# --- Outbox filters ----------------------------------------------------------------


def test_outbox_lists_newest_first(reception_client):
    older = sms(send_after=NOW - timedelta(hours=2))
    newer = sms(send_after=NOW - timedelta(hours=1))

    response = reception_client.get(reverse("notifications:outbox"))

    assert listed(response) == [newer, older]


def test_outbox_filters_by_status(reception_client):
    failed = sms(status=Status.FAILED, last_error="The number is not a mobile.")
    sms(status=Status.SENT)

    response = reception_client.get(reverse("notifications:outbox"), {"status": "failed"})

    assert listed(response) == [failed]
    assert "The number is not a mobile." in response.content.decode()


def test_outbox_filters_by_channel(reception_client, receptionist):
    email = NotificationFactory(channel="email")
    sms()
    alert(receptionist)

    response = reception_client.get(reverse("notifications:outbox"), {"channel": "email"})

    assert listed(response) == [email]


def test_outbox_filters_by_the_clinic_day_the_message_was_due(reception_client):
    # 01:30 UTC on the 10th is still the evening of the 9th in New York.
    late_on_the_ninth = sms(send_after=datetime(2026, 3, 10, 1, 30, tzinfo=UTC))
    sms(send_after=at(date(2026, 3, 8), 12))
    sms(send_after=at(date(2026, 3, 10), 9))

    response = reception_client.get(
        reverse("notifications:outbox"), {"date_from": "2026-03-09", "date_to": "2026-03-09"}
    )

    assert listed(response) == [late_on_the_ninth]


@pytest.mark.parametrize(
    "filters",
    [
        {"date_from": "2026-02-30"},
        {"date_to": "9999-12-31"},
        {"date_from": "2026-03-10", "date_to": "2026-03-01"},
        {"channel": "pigeon"},
        {"status": "lost"},
    ],
)
def test_invalid_filter_shows_an_error_not_a_crash(reception_client, filters):
    message = sms()

    response = reception_client.get(reverse("notifications:outbox"), filters)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert listed(response) == [message]  # The invalid filter is left out.


def test_outbox_pages_keep_the_filters(reception_client, db):
    for _ in range(51):
        sms(status=Status.FAILED)

    response = reception_client.get(reverse("notifications:outbox"), {"status": "failed"})

    assert "?status=failed&amp;page=2" in response.content.decode()


# --- Retry and cancel --------------------------------------------------------------


def test_retrying_a_failed_message_queues_it_again(reception_client):
    message = sms(status=Status.FAILED, attempts=5, last_error="Provider unreachable.")

    response = reception_client.post(reverse("notifications:retry", args=[message.pk]), follow=True)

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.PENDING, 0)
    assert response.redirect_chain[-1][0] == reverse("notifications:outbox")
    assert "Queued again: the SMS to" in response.content.decode()


def test_retrying_a_sent_message_is_refused_and_changes_nothing(reception_client):
    message = sms(status=Status.SENT, attempts=1)

    response = reception_client.post(reverse("notifications:retry", args=[message.pk]), follow=True)

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 1)
    assert "Only a failed message can be retried; this one is sent." in (response.content.decode())


def test_cancelling_a_pending_message(manager_client):
    message = sms(status=Status.PENDING)

    response = manager_client.post(reverse("notifications:cancel", args=[message.pk]), follow=True)

    message.refresh_from_db()
    assert message.status == Status.CANCELLED
    assert "Cancelled: the SMS to" in response.content.decode()


def test_cancelling_a_sent_message_is_refused(reception_client):
    message = sms(status=Status.SENT)

    response = reception_client.post(
        reverse("notifications:cancel", args=[message.pk]), follow=True
    )

    message.refresh_from_db()
    assert message.status == Status.SENT
    assert "Only a pending message can be cancelled; this one is sent." in (
        response.content.decode()
    )


def test_after_an_action_the_outbox_comes_back_with_its_filters(reception_client):
    message = sms(status=Status.FAILED)
    back = reverse("notifications:outbox") + "?status=failed&page=1"

    response = reception_client.post(
        reverse("notifications:retry", args=[message.pk]), {"next": back}
    )

    assert response["Location"] == back


@pytest.mark.parametrize("next_url", ["https://evil.example/outbox/", "//evil.example/"])
def test_next_to_another_site_is_ignored(reception_client, next_url):
    message = sms(status=Status.PENDING)

    response = reception_client.post(
        reverse("notifications:cancel", args=[message.pk]), {"next": next_url}
    )

    assert response["Location"] == reverse("notifications:outbox")


# --- Inbox, bell and live alerts ---------------------------------------------------


def test_opening_a_message_marks_it_read_and_follows_its_link(doctor_client, doctor):
    message = alert(doctor.user, link=reverse("scheduling:my_day"))

    response = doctor_client.post(reverse("notifications:open", args=[message.pk]))

    message.refresh_from_db()
    assert message.read_at == NOW
    assert response["Location"] == reverse("scheduling:my_day")


def test_opening_a_message_without_a_link_goes_back_to_the_inbox(doctor_client, doctor):
    message = alert(doctor.user, link="")

    response = doctor_client.post(reverse("notifications:open", args=[message.pk]))

    assert response["Location"] == reverse("notifications:inbox")


def test_opening_another_users_message_is_not_found(doctor_client, receptionist):
    theirs = alert(receptionist)

    response = doctor_client.post(reverse("notifications:open", args=[theirs.pk]))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_as_read_reads_only_my_messages(doctor_client, doctor, receptionist):
    mine = [alert(doctor.user), alert(doctor.user)]
    theirs = alert(receptionist)

    response = doctor_client.post(reverse("notifications:read_all"))

    assert response["Location"] == reverse("notifications:inbox")
    assert all(Notification.objects.get(pk=m.pk).read_at == NOW for m in mine)
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_unread_messages_stand_out_in_the_inbox(doctor_client, doctor):
    unread = alert(doctor.user)
    read = alert(doctor.user, read_at=NOW)

    content = doctor_client.get(reverse("notifications:inbox")).content.decode()

    assert re.search(rf'notification-unread" data-testid="message-{unread.pk}"', content)
    assert not re.search(rf'notification-unread" data-testid="message-{read.pk}"', content)


def test_bell_counts_my_unread_in_app_messages_only(doctor_client, doctor, receptionist):
    alert(doctor.user)
    alert(doctor.user, status=Status.DELIVERED)
    alert(doctor.user, read_at=NOW)
    alert(doctor.user, status=Status.PENDING)
    alert(doctor.user, status=Status.FAILED)
    alert(receptionist)

    response = doctor_client.get(reverse("home"))

    assert bell_count(response) == 2


def test_bell_shows_no_count_when_all_is_read(doctor_client, doctor):
    alert(doctor.user, read_at=NOW)

    response = doctor_client.get(reverse("home"))

    assert 'id="nav-bell"' in response.content.decode()
    assert bell_count(response) == 0


def test_bell_costs_one_query_per_page(doctor_client, doctor):
    alert(doctor.user)

    with CaptureQueriesContext(connection) as captured:
        doctor_client.get(reverse("home"))

    counts = [q for q in captured if "notifications_notification" in q["sql"]]
    assert len(counts) == 1


def test_sign_in_page_costs_no_query_for_the_bell(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(reverse("login"))

    assert 'id="nav-bell"' not in response.content.decode()


def test_live_fragment_lists_my_newest_unread_alerts_and_the_bell(doctor_client, doctor):
    alerts = [
        alert(doctor.user, body=f"Patient {n} has arrived.", send_after=NOW - timedelta(minutes=n))
        for n in range(1, 8)
    ]
    alert(doctor.user, body="Already read.", read_at=NOW)

    response = doctor_client.get(reverse("notifications:live"), headers={"HX-Request": "true"})

    content = response.content.decode()
    assert "<html" not in content
    shown = [int(pk) for pk in re.findall(r'data-testid="alert-(\d+)"', content)]
    assert shown == [a.pk for a in alerts[:5]]
    assert "Already read." not in content
    assert 'hx-swap-oob="true"' in content
    assert bell_count(response) == 7


def test_my_day_polls_the_live_alerts(doctor_client):
    content = doctor_client.get(reverse("scheduling:my_day")).content.decode()

    assert f'hx-get="{reverse("notifications:live")}"' in content
    assert 'hx-trigger="load, every 10s"' in content


def test_doctor_is_told_live_when_reception_checks_the_patient_in(
    reception_client, doctor_client, doctor
):
    anna = PatientFactory(given_name="Anna", family_name="Smithson")
    appointment = AppointmentFactory(
        doctor=doctor,
        patient=anna,
        starts_at=NOW + timedelta(minutes=10),
        status=AppointmentStatus.CONFIRMED,
    )
    reception_client.post(reverse("scheduling:action", args=[appointment.pk, "check-in"]))
    dispatch_due(time_budget=5)  # What the worker does when woken.

    response = doctor_client.get(reverse("notifications:live"), headers={"HX-Request": "true"})

    assert "Anna Smithson has arrived for 11:10 AM." in response.content.decode()
    assert bell_count(response) == 1


# --- Query counts ------------------------------------------------------------------


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def fill_outbox(count: int, staff) -> None:
    for n in range(count):
        if n % 2:
            appointment = AppointmentFactory(starts_at=NOW + timedelta(hours=n))
            sms(patient=appointment.patient, appointment=appointment)
        else:
            alert(staff, status=Status.FAILED)


def test_outbox_queries_do_not_grow_with_the_rows(reception_client, receptionist):
    url = reverse("notifications:outbox")
    fill_outbox(3, receptionist)
    few = queries_for(reception_client, url)
    fill_outbox(27, receptionist)

    assert queries_for(reception_client, url) == few


def test_inbox_queries_do_not_grow_with_the_rows(doctor_client, doctor):
    url = reverse("notifications:inbox")
    for _ in range(3):
        alert(doctor.user)
    few = queries_for(doctor_client, url)
    for _ in range(27):
        alert(doctor.user)

    assert queries_for(doctor_client, url) == few


# --- Admin -------------------------------------------------------------------------

CHANGELIST = "admin:notifications_notification_changelist"


def test_manager_sees_the_messages_in_the_admin_read_only(manager_client, receptionist):
    sms()
    alert(receptionist)

    response = manager_client.get(reverse(CHANGELIST), {"q": receptionist.username})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    add = manager_client.get(reverse("admin:notifications_notification_add"))
    assert add.status_code == 403


def test_admin_retries_failed_messages_and_names_the_refused(manager_client):
    failed = sms(status=Status.FAILED)
    sent = sms(status=Status.SENT)

    response = manager_client.post(
        reverse(CHANGELIST),
        {"action": "retry_failed", "_selected_action": [failed.pk, sent.pk]},
        follow=True,
    )

    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.status, sent.status) == (Status.PENDING, Status.SENT)
    content = response.content.decode()
    assert "1 message queued again." in content
    assert f"#{sent.pk} (Only a failed message can be retried; this one is sent.)" in content


def test_admin_cancels_pending_messages(manager_client):
    pending = [sms(status=Status.PENDING), sms(status=Status.PENDING)]
    delivered = sms(status=Status.DELIVERED)

    response = manager_client.post(
        reverse(CHANGELIST),
        {"action": "cancel_pending", "_selected_action": [m.pk for m in [*pending, delivered]]},
        follow=True,
    )

    statuses = {m.pk: m.status for m in Notification.objects.all()}
    assert statuses == {
        pending[0].pk: Status.CANCELLED,
        pending[1].pk: Status.CANCELLED,
        delivered.pk: Status.DELIVERED,
    }
    assert "2 messages cancelled." in response.content.decode()


def test_admin_actions_need_the_manage_outbox_permission(db):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_notification"))
    failed = sms(status=Status.FAILED)
    client = signed_in(viewer)

    page = client.get(reverse(CHANGELIST))
    client.post(reverse(CHANGELIST), {"action": "retry_failed", "_selected_action": [failed.pk]})

    assert page.status_code == 200
    assert "retry_failed" not in page.content.decode()
    failed.refresh_from_db()
    assert failed.status == Status.FAILED


def test_doctor_user_has_no_outbox_permission(db):
    assert not DoctorUserFactory().has_perm("notifications.view_notification")
