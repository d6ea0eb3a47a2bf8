"""Who may open which page: anonymous people are sent to sign in, staff without
the role get 403, and the admin is for managers only."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PatientFactory, UserFactory

ROLE_CLIENTS = ["reception_client", "doctor_client", "manager_client"]


@pytest.fixture
def patient(db):
    return PatientFactory()


def page_urls(patient) -> dict[str, str]:
    return {
        "home": reverse("home"),
        "patient_list": reverse("patients:list"),
        "patient_create": reverse("patients:create"),
        "patient_detail": reverse("patients:detail", args=[patient.pk]),
        "patient_edit": reverse("patients:edit", args=[patient.pk]),
        "doctor_list": reverse("doctors:list"),
    }


# Which pages each role may open; every other page answers 403.
ALLOWED = {
    "reception_client": {
        "home",
        "patient_list",
        "patient_create",
        "patient_detail",
        "patient_edit",
        "doctor_list",
    },
    "doctor_client": {"home", "patient_list", "patient_detail", "doctor_list"},
    "manager_client": {
        "home",
        "patient_list",
        "patient_create",
        "patient_detail",
        "patient_edit",
        "doctor_list",
    },
}


@pytest.mark.parametrize(
    "page",
    ["home", "patient_list", "patient_create", "patient_detail", "patient_edit", "doctor_list"],
)
def test_anonymous_visitor_is_sent_to_sign_in(client, patient, page):
    url = page_urls(patient)[page]

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("role_client", ROLE_CLIENTS)
@pytest.mark.parametrize(
    "page",
    ["home", "patient_list", "patient_create", "patient_detail", "patient_edit", "doctor_list"],
)
def test_each_role_opens_only_its_pages(request, patient, role_client, page):
    client = request.getfixturevalue(role_client)

    response = client.get(page_urls(patient)[page])

    expected = 200 if page in ALLOWED[role_client] else 403
    assert response.status_code == expected


@pytest.mark.parametrize(
    "page", ["patient_list", "patient_create", "patient_detail", "patient_edit", "doctor_list"]
)
def test_signed_in_user_without_a_role_gets_403(patient, page):
    client = Client()
    client.force_login(UserFactory())

    response = client.get(page_urls(patient)[page])

    assert response.status_code == 403


def test_doctor_cannot_change_a_patient_by_posting_to_the_edit_page(doctor_client, patient):
    response = doctor_client.post(
        reverse("patients:edit", args=[patient.pk]), {"given_name": "Mallory"}
    )

    assert response.status_code == 403
    patient.refresh_from_db()
    assert patient.given_name != "Mallory"


def test_manager_opens_the_admin(manager_client):
    assert manager_client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize("role_client", ["reception_client", "doctor_client"])
def test_reception_and_doctors_cannot_open_the_admin(request, role_client):
    client = request.getfixturevalue(role_client)

    response = client.get(reverse("admin:doctors_doctor_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_nav_shows_only_what_the_role_may_use(doctor_client, manager_client):
    doctor_page = doctor_client.get(reverse("home")).content.decode()
    manager_page = manager_client.get(reverse("home")).content.decode()

    assert reverse("admin:index") not in doctor_page
    assert reverse("patients:create") not in doctor_page
    assert reverse("admin:index") in manager_page
    assert reverse("patients:create") in manager_page
