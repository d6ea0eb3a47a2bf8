"""Small things every page shares: a favicon, the friendly 403 for staff who open the
administration without the right, and a message (not a silent "today") for a date
in a URL that cannot be read."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db


def test_the_favicon_is_served_and_linked_from_every_page(reception_client):
    icon = Client().get("/favicon.ico")
    page = reception_client.get(reverse("home")).content.decode()

    assert icon.status_code == 301
    assert icon["Location"].endswith("img/favicon.svg")
    assert 'rel="icon"' in page
    assert "img/favicon.svg" in page


@pytest.mark.parametrize("role_client", ["reception_client", "doctor_client"])
def test_staff_without_admin_rights_get_the_friendly_403(request, role_client):
    client = request.getfixturevalue(role_client)

    response = client.get(reverse("admin:index"), follow=True)

    assert response.status_code == 403
    assert response.templates[0].name == "403.html"
    assert "The administration is for the clinic&#x27;s managers." in response.content.decode()
    assert b"Log in" not in response.content


def test_signed_out_the_admin_still_offers_its_sign_in(db):
    response = Client().get(reverse("admin:login"))

    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_a_manager_signed_in_goes_straight_to_the_admin(manager_client):
    response = manager_client.get(reverse("admin:login"))

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        ("2026-02-30", "“2026-02-30” is not a date (YYYY-MM-DD). Showing today."),
        ("tomorrow", "“tomorrow” is not a date (YYYY-MM-DD). Showing today."),
        ("1999-01-01", "Choose a date between last year and 2 years from now. Showing today."),
    ],
)
def test_a_bad_date_in_the_url_says_so_and_shows_today(reception_client, asked, message):
    response = reception_client.get(reverse("scheduling:day"), {"date": asked})

    assert response.status_code == 200
    assert response.context["day"] == timezone.localdate()
    assert [str(m) for m in get_messages(response.wsgi_request)] == [message]


def test_no_date_means_today_without_a_message(reception_client):
    response = reception_client.get(reverse("scheduling:day"))

    assert response.context["day"] == timezone.localdate()
    assert list(get_messages(response.wsgi_request)) == []
