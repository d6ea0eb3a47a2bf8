"""What every endpoint of /api/v1 shares: tokens, authentication, the error shape,
the OpenAPI document and the docs."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from clinic.models import ApiToken
from clinic.tokens import issue_token, revoke_token, user_for_token
from tests.factories import ReceptionistFactory

pytestmark = pytest.mark.django_db

DOCTORS = "/api/v1/doctors"


def test_a_token_is_stored_as_a_hash_and_finds_its_user(receptionist):
    row, token = issue_token(user=receptionist, name="Website")

    assert token.startswith(f"clinic_{row.prefix}_")
    assert token not in (row.key_hash, row.prefix)
    assert len(row.key_hash) == 64
    assert user_for_token(token) == receptionist
    row.refresh_from_db()
    assert row.last_used_at is not None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: token.replace("clinic_", "other_"),
        lambda token: "clinic__",
        lambda token: "",
        lambda token: token.split("_")[0] + "_" + token.split("_")[1],
    ],
)
def test_a_wrong_token_finds_no_one(receptionist, mangle):
    _, token = issue_token(user=receptionist, name="Website")
    assert user_for_token(mangle(token)) is None


def test_revoked_tokens_and_inactive_users_are_refused(receptionist):
    row, token = issue_token(user=receptionist, name="Website")
    revoke_token(token=row)
    assert user_for_token(token) is None

    other = ReceptionistFactory()
    _, token = issue_token(user=other, name="Website")
    other.is_active = False
    other.save()
    assert user_for_token(token) is None


def test_a_token_brings_its_users_own_and_groups_permissions(receptionist):
    receptionist.user_permissions.add(
        Permission.objects.get(codename="view_invoice", content_type__app_label="payments")
    )
    _, token = issue_token(user=receptionist, name="Website")

    user = user_for_token(token)

    assert user is not None
    # Read with the token: has_perm asks nothing more, and answers as Django would.
    fresh = type(receptionist).objects.get(pk=receptionist.pk)
    assert user._perm_cache == fresh.get_all_permissions()
    assert "payments.view_invoice" in user._perm_cache
    assert "scheduling.add_appointment" in user._perm_cache  # Reception's group.


def test_a_token_of_a_user_without_permissions_has_none(db):
    user = ReceptionistFactory()
    user.groups.clear()
    _, token = issue_token(user=user, name="Website")

    assert user_for_token(token).get_all_permissions() == set()


def test_a_managers_token_answers_as_a_superuser_does(db):
    boss = ReceptionistFactory(is_superuser=True)
    boss.groups.clear()
    _, token = issue_token(user=boss, name="Website")

    assert user_for_token(token).has_perm("payments.view_invoice")


def test_a_permission_taken_away_is_refused_at_the_next_call(api_client, receptionist):
    client = api_client(receptionist)
    assert client.get(DOCTORS).status_code == 200
    receptionist.groups.clear()

    assert client.get(DOCTORS).status_code == 403


def test_the_command_prints_a_working_token(receptionist, capsys):
    call_command("create_api_token", receptionist.username, "--name", "Booking widget")

    token = capsys.readouterr().out.strip()
    assert user_for_token(token) == receptionist
    assert ApiToken.objects.get().name == "Booking widget"


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_the_command_refuses_a_missing_or_long_name(receptionist, name):
    with pytest.raises(CommandError, match="--name takes 1 to 100 characters"):
        call_command("create_api_token", receptionist.username, "--name", name)


def test_the_command_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="No active user 'nobody'"):
        call_command("create_api_token", "nobody")


def test_a_manager_makes_a_token_in_admin_and_sees_it_once(manager_client, receptionist):
    response = manager_client.post(
        reverse("admin:clinic_apitoken_add"),
        {"user": receptionist.pk, "name": "Website"},
        follow=True,
    )

    [message] = [str(m) for m in response.context["messages"] if "The token for" in str(m)]
    token = message.split(" is ")[1].split(" ")[0]
    assert user_for_token(token) == receptionist
    assert token not in manager_client.get(reverse("admin:clinic_apitoken_changelist")).text


def test_a_manager_cannot_make_a_token_for_a_doctor(manager_client, doctor):
    response = manager_client.post(
        reverse("admin:clinic_apitoken_add"), {"user": doctor.user.pk, "name": "Notes"}
    )

    assert response.status_code == 200  # The form again, with its error.
    assert "user" in response.context["adminform"].form.errors
    assert not ApiToken.objects.exists()


# --- Authentication and errors -------------------------------------------------------


def test_without_a_token_the_api_answers_401_in_json():
    response = Client().get(DOCTORS)

    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "unauthenticated", "message": "Send a valid API token."}
    }


def test_a_bad_token_is_401(api_client):
    response = Client(headers={"Authorization": "Bearer clinic_nope_nope"}).get(DOCTORS)
    assert response.status_code == 401


def test_a_staff_browser_session_may_call_the_api(reception_client):
    assert reception_client.get(DOCTORS).status_code == 200


def test_a_browser_session_needs_its_csrf_token_to_write(receptionist):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(receptionist)

    response = browser.post("/api/v1/patients", {}, content_type="application/json")

    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] != "invalid"


def test_an_unknown_url_under_the_api_is_404():
    assert Client().get("/api/v1/nothing-here").status_code == 404


# --- The document ----------------------------------------------------------------------


def test_the_openapi_document_describes_the_api(reception_api):
    document = reception_api.get("/api/v1/openapi.json").json()

    assert document["info"]["title"] == "Clinic API"
    assert document["info"]["version"] == "1"
    assert "BearerToken" in document["components"]["securitySchemes"]


def test_the_docs_page_serves_its_own_files(reception_client):
    response = reception_client.get("/api/v1/docs")

    assert response.status_code == 200
    assert "cdn" not in response.text.lower()


def test_without_debug_the_document_and_docs_need_a_token_or_a_staff_login(db):
    document = Client().get("/api/v1/openapi.json")
    docs = Client().get("/api/v1/docs")

    assert document.status_code == 401
    assert document.json()["error"]["code"] == "unauthenticated"
    assert docs.status_code == 302
    assert docs["Location"].startswith(reverse("login"))


def test_a_bad_token_does_not_open_the_document(db):
    response = Client(headers={"Authorization": "Bearer clinic_nope_nope"}).get(
        "/api/v1/openapi.json"
    )

    assert response.status_code == 401


def test_a_clinic_may_publish_its_api_document(db, settings):
    settings.API_DOCS_PUBLIC = True

    assert Client().get("/api/v1/openapi.json").status_code == 200
    assert Client().get("/api/v1/docs").status_code == 200


def test_in_development_the_document_is_open(db, settings):
    settings.DEBUG = True

    assert Client().get("/api/v1/openapi.json").status_code == 200
