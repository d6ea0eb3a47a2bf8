"""The client's address in every audit row and log line comes from one proxy-aware
function (clinic.kernel.http.client_ip): behind the documented Caddy proxy
(TRUSTED_PROXY_COUNT=1) the clinical access log, the records admin's audit, the
sign-in log, the lockouts and the request log all name the real client, not the
proxy."""

from __future__ import annotations

import logging

import pytest
from axes.models import AccessAttempt
from django.test import Client, RequestFactory
from django.urls import reverse

from clinic.kernel.http import client_ip
from records.models import AccessAction, AccessLog
from tests.factories import TEST_PASSWORD, MedicalRecordFactory, SessionFactory

PROXY = "10.0.0.2"
CLIENT = "203.0.113.9"
# What reaches the app through one proxy: whatever the client claimed, then the
# address the proxy saw, appended by the proxy.
BEHIND_THE_PROXY = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"192.0.2.1, {CLIENT}"}


@pytest.fixture
def behind_one_proxy(settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1


def request_with(**meta):
    return RequestFactory().get("/", **meta)


@pytest.mark.parametrize(
    ("proxies", "meta", "expected"),
    [
        (0, BEHIND_THE_PROXY, PROXY),
        (1, BEHIND_THE_PROXY, CLIENT),
        (2, BEHIND_THE_PROXY, "192.0.2.1"),
        (2, {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": CLIENT}, PROXY),
        (1, {"REMOTE_ADDR": PROXY}, PROXY),
        (1, {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "not-an-address"}, PROXY),
        (1, {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "2001:db8::1"}, "2001:db8::1"),
    ],
)
def test_the_client_address_trusts_only_the_configured_proxies(settings, proxies, meta, expected):
    settings.TRUSTED_PROXY_COUNT = proxies

    assert client_ip(request_with(**meta)) == expected


def test_a_chart_read_behind_the_proxy_logs_the_client(behind_one_proxy, doctor_client, doctor):
    session = SessionFactory(doctor=doctor, completed=True)

    response = doctor_client.get(
        reverse("records:chart", args=[session.patient_id]), **BEHIND_THE_PROXY
    )

    assert response.status_code == 200
    entry = AccessLog.objects.get(action=AccessAction.READ)
    assert entry.ip_address == CLIENT


def test_a_session_page_write_behind_the_proxy_logs_the_client(
    behind_one_proxy, doctor_client, doctor
):
    session = SessionFactory(doctor=doctor, in_progress=True)
    data = {
        "note-assessment": "Viral bronchitis.",
        "items-TOTAL_FORMS": "0",
        "items-INITIAL_FORMS": "0",
        "performed-TOTAL_FORMS": "1",
        "performed-INITIAL_FORMS": "0",
        "performed-0-service": session.appointment.service_id,
        "performed-0-quantity": "1",
    }

    response = doctor_client.post(
        reverse("records:session", args=[session.pk]), data, **BEHIND_THE_PROXY
    )

    assert response.status_code == 302
    assert set(AccessLog.objects.values_list("ip_address", flat=True)) == {CLIENT}


def test_the_records_admin_logs_the_client_behind_the_proxy(behind_one_proxy, manager_client):
    record = MedicalRecordFactory()

    response = manager_client.get(
        reverse("admin:records_medicalrecord_change", args=[record.pk]), **BEHIND_THE_PROXY
    )

    assert response.status_code == 200
    assert AccessLog.objects.get().ip_address == CLIENT


def test_sign_ins_and_lockouts_behind_the_proxy_name_the_client(
    behind_one_proxy, settings, receptionist, caplog
):
    settings.AXES_FAILURE_LIMIT = 2
    browser = Client()
    login = reverse("login")
    caplog.set_level(logging.INFO, logger="clinic.auth")

    browser.post(
        login, {"username": receptionist.username, "password": TEST_PASSWORD}, **BEHIND_THE_PROXY
    )
    for _ in range(2):
        Client().post(
            login, {"username": receptionist.username, "password": "wrong"}, **BEHIND_THE_PROXY
        )

    events = {record.event: record.ip for record in caplog.records if record.name == "clinic.auth"}
    assert events == {"login": CLIENT, "login_failed": CLIENT, "locked_out": CLIENT}
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {CLIENT}


def test_the_request_log_line_names_the_client_behind_the_proxy(
    behind_one_proxy, reception_client, caplog
):
    caplog.set_level(logging.INFO, logger="clinic.request")

    reception_client.get(reverse("patients:list"), **BEHIND_THE_PROXY)

    [line] = [record for record in caplog.records if record.name == "clinic.request"]
    assert line.ip == CLIENT
