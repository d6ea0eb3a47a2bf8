from __future__ import annotations

from django.urls import reverse

from tests.factories import TEST_PASSWORD


def test_login_page_is_open_to_everyone(client):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_receptionist_signs_in_and_lands_on_home(client, receptionist):
    response = client.post(
        reverse("login"),
        {"username": receptionist.username, "password": TEST_PASSWORD},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("home")
    assert "Signed in as Rita Owens." in response.content.decode()


def test_wrong_password_is_refused_with_a_message(client, receptionist):
    response = client.post(
        reverse("login"), {"username": receptionist.username, "password": "not-it"}
    )

    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_out_ends_the_session(reception_client):
    response = reception_client.post(reverse("logout"), follow=True)

    assert response.redirect_chain[-1][0] == reverse("login")
    assert "You are signed out." in response.content.decode()
    assert reception_client.get(reverse("home")).status_code == 302


def test_sign_in_returns_to_the_page_asked_for(client, receptionist):
    response = client.post(
        f"{reverse('login')}?next={reverse('patients:list')}",
        {
            "username": receptionist.username,
            "password": TEST_PASSWORD,
            "next": reverse("patients:list"),
        },
    )

    assert response["Location"] == reverse("patients:list")


def test_session_expires_after_inactivity(settings, reception_client):
    reception_client.get(reverse("home"))

    assert reception_client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert settings.SESSION_COOKIE_AGE == 30 * 60
