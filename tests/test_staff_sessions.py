"""Sessions that bring their user (clinic/sessions.py): a signed-in request reads its
session, its user and the user's permissions in one query, and Django's own rules of
who is signed in still hold at every request."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.models import StaffSession
from tests.factories import ManagerFactory
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db

DOCTORS = reverse("doctors:list")


def test_a_signed_in_session_names_its_user(reception_client, receptionist):
    session = StaffSession.objects.get(session_key=reception_client.session.session_key)

    assert session.user == receptionist


def test_a_page_behind_a_permission_reads_session_user_and_permissions_at_once(
    reception_client,
):
    reception_client.get(DOCTORS)

    with CaptureQueriesContext(connection) as captured:
        response = reception_client.get(DOCTORS)

    assert response.status_code == 200
    auth = [query["sql"] for query in captured if "auth_" in query["sql"]]
    assert len(auth) == 1
    assert 'FROM "clinic_staffsession"' in auth[0]


def test_a_deactivated_user_is_signed_out_at_their_next_request(reception_client, receptionist):
    assert reception_client.get(DOCTORS).status_code == 200
    type(receptionist).objects.filter(pk=receptionist.pk).update(is_active=False)

    response = reception_client.get(DOCTORS)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_password_changed_elsewhere_signs_the_session_out(reception_client, receptionist):
    assert reception_client.get(DOCTORS).status_code == 200
    receptionist.set_password("a new and long passphrase")
    receptionist.save()

    response = reception_client.get(DOCTORS)

    assert response.status_code == 302
    assert not StaffSession.objects.filter(user=receptionist).exists()


def test_a_permission_given_counts_at_the_next_request(doctor_client, doctor):
    url = reverse("doctors:list")
    doctor.user.groups.clear()
    assert doctor_client.get(url).status_code == 403

    doctor.user.user_permissions.add(
        Permission.objects.get(codename="view_doctor", content_type__app_label="doctors")
    )

    assert doctor_client.get(url).status_code == 200


def test_signing_out_ends_the_session(reception_client, receptionist):
    reception_client.post(reverse("logout"))

    assert not StaffSession.objects.filter(user=receptionist).exists()
    assert reception_client.get(DOCTORS).status_code == 302


def test_a_superuser_has_every_permission(db):
    boss = ManagerFactory(is_superuser=True)
    boss.groups.clear()

    assert signed_in(boss).get(DOCTORS).status_code == 200
