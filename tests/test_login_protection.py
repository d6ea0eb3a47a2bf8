"""Failed sign-ins lock a username from its address; managers unlock; every sign-in
event is logged on "clinic.auth"."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from tests.factories import TEST_PASSWORD, ReceptionistFactory

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 5
LOCKOUT_MINUTES = 15
WRONG_PASSWORD = "not-the-password-9f3k"


@pytest.fixture(autouse=True)
def login_protection(settings) -> None:
    """The defaults, whatever a local .env says."""
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = LOCKOUT_MINUTES / 60
    settings.TRUSTED_PROXY_COUNT = 0


def sign_in(client: Client, username: str, password: str = TEST_PASSWORD, **headers):
    return client.post(reverse("login"), {"username": username, "password": password}, **headers)


def fail(client: Client, username: str, times: int, **headers) -> list:
    return [sign_in(client, username, WRONG_PASSWORD, **headers) for _ in range(times)]


def is_lockout_page(response) -> bool:
    return response.status_code in (403, 429) and "Sign-in locked" in response.content.decode()


def auth_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "clinic.auth"]


def test_failed_sign_ins_lock_the_username_even_for_the_right_password(client, receptionist):
    before_limit = fail(client, receptionist.username, LIMIT - 1)

    assert [response.status_code for response in before_limit] == [200] * (LIMIT - 1)
    assert is_lockout_page(fail(client, receptionist.username, 1)[0])

    response = sign_in(client, receptionist.username)

    assert is_lockout_page(response)
    page = response.content.decode()
    assert f"for {LOCKOUT_MINUTES} minutes" in page
    assert "Ask a manager to unlock it" in page
    assert "_auth_user_id" not in client.session


def test_lockout_leaves_other_users_at_the_same_address_alone(client, receptionist):
    colleague = ReceptionistFactory()
    fail(client, receptionist.username, LIMIT)

    assert sign_in(Client(), colleague.username).status_code == 302


def test_lockout_leaves_the_same_user_at_another_address_alone(client, receptionist):
    fail(client, receptionist.username, LIMIT, REMOTE_ADDR="198.51.100.20")

    assert sign_in(client, receptionist.username, REMOTE_ADDR="198.51.100.21").status_code == 302


def test_lockout_ends_after_the_cooloff(client, receptionist, time_machine):
    time_machine.move_to(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False)
    fail(client, receptionist.username, LIMIT)

    time_machine.shift(timedelta(minutes=LOCKOUT_MINUTES - 1))
    assert is_lockout_page(sign_in(client, receptionist.username))

    # That attempt started the wait again.
    time_machine.shift(timedelta(minutes=LOCKOUT_MINUTES, seconds=1))
    assert sign_in(client, receptionist.username).status_code == 302


def test_a_successful_sign_in_starts_the_count_again(receptionist):
    fail(Client(), receptionist.username, LIMIT - 1)
    assert sign_in(Client(), receptionist.username).status_code == 302

    fail(Client(), receptionist.username, LIMIT - 1)

    assert not AccessAttempt.objects.filter(failures_since_start__gte=LIMIT).exists()
    assert sign_in(Client(), receptionist.username).status_code == 302


def test_manager_unlocks_a_locked_out_login_in_admin(client, receptionist, manager_client):
    fail(client, receptionist.username, LIMIT)
    attempt = AccessAttempt.objects.get(username=receptionist.username)

    listing = manager_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200
    assert receptionist.username in listing.content.decode()

    deleted = manager_client.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 302
    assert not AccessAttempt.objects.exists()

    assert sign_in(client, receptionist.username).status_code == 302


def test_manager_reads_the_sign_in_history_in_admin(manager_client):
    assert manager_client.get(reverse("admin:axes_accesslog_changelist")).status_code == 200
    assert manager_client.get(reverse("admin:axes_accessfailurelog_changelist")).status_code == 200


def test_receptionist_cannot_open_the_locked_attempts(client, receptionist, reception_client):
    fail(client, receptionist.username, LIMIT)
    attempt = AccessAttempt.objects.get()

    listing = reception_client.get(reverse("admin:axes_accessattempt_changelist"))
    deleting = reception_client.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )

    assert listing.status_code == 302
    assert listing["Location"].startswith(reverse("admin:login"))
    assert deleting.status_code == 302
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


def test_behind_a_proxy_the_forwarded_address_is_the_one_locked(settings, client, receptionist):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    # Whatever the client puts left of the proxy's entry is not believed.
    fail(client, receptionist.username, LIMIT, **proxy, HTTP_X_FORWARDED_FOR="203.0.113.9")
    forged = sign_in(
        client, receptionist.username, **proxy, HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.9"
    )

    assert is_lockout_page(forged)
    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"
    elsewhere = sign_in(client, receptionist.username, **proxy, HTTP_X_FORWARDED_FOR="203.0.113.50")
    assert elsewhere.status_code == 302


def test_sign_in_and_sign_out_are_logged_with_user_and_address(caplog, receptionist):
    client = Client(REMOTE_ADDR="198.51.100.7")
    caplog.set_level(logging.INFO, logger="clinic.auth")

    assert sign_in(client, receptionist.username).status_code == 302
    assert client.post(reverse("logout")).status_code == 302

    records = auth_records(caplog)
    assert [(r.event, r.user_id, r.ip) for r in records] == [
        ("login", receptionist.pk, "198.51.100.7"),
        ("logout", receptionist.pk, "198.51.100.7"),
    ]
    assert "_auth_user_id" not in client.session


def test_failed_sign_in_is_logged_without_the_password(caplog, client, receptionist):
    caplog.set_level(logging.INFO, logger="clinic.auth")

    fail(client, receptionist.username, 1)

    [record] = auth_records(caplog)
    assert (record.event, record.user_id, record.username, record.ip) == (
        "login_failed",
        receptionist.pk,
        receptionist.username,
        "127.0.0.1",
    )
    assert WRONG_PASSWORD not in repr(record.__dict__)


def test_failed_sign_in_with_an_unknown_long_name_logs_it_shortened(db, caplog, client):
    caplog.set_level(logging.INFO, logger="clinic.auth")

    response = sign_in(client, "x" * 500, WRONG_PASSWORD)

    assert response.status_code == 200
    assert AccessAttempt.objects.get().username == "x" * 150
    [record] = auth_records(caplog)
    assert (record.event, record.user_id, record.username) == ("login_failed", None, "x" * 150)


def test_lockout_is_logged(caplog, client, receptionist):
    fail(client, receptionist.username, LIMIT - 1)
    caplog.set_level(logging.INFO, logger="clinic.auth")

    fail(client, receptionist.username, 1)

    lockouts = [record for record in auth_records(caplog) if record.event == "locked_out"]
    assert [(r.user_id, r.username, r.ip) for r in lockouts] == [
        (receptionist.pk, receptionist.username, "127.0.0.1")
    ]
    assert all(WRONG_PASSWORD not in repr(r.__dict__) for r in auth_records(caplog))


def test_limit_and_lockout_come_from_the_environment(tmp_path):
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    base = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "ENV_FILE": str(env_file),
        "DEBUG": "true",
    }
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "from axes.helpers import get_cool_off; "
        "print(s.AXES_FAILURE_LIMIT, get_cool_off().total_seconds(), s.TRUSTED_PROXY_COUNT)"
    )

    def load(**variables: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**base, **variables},
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip()

    assert load() == "5 900.0 0"
    assert load(LOGIN_FAILURE_LIMIT="3", LOGIN_LOCKOUT_MINUTES="7", TRUSTED_PROXY_COUNT="2") == (
        "3 420.0 2"
    )
