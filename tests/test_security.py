"""Production hardening: the deploy checklist, the Content Security Policy on every
page (and templates that keep to it), hashed static files, idle sessions and the
error pages."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth.decorators import login_not_required
from django.core.management import call_command
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.test import Client
from django.urls import path, reverse
from django.utils import timezone

from clinic.models import StaffSession as Session
from clinic.tokens import issue_token
from notifications.models import Channel
from payments.services import pay_link_token
from tests.factories import (
    AppointmentFactory,
    InvoiceFactory,
    NotificationFactory,
    PatientFactory,
    SessionFactory,
)

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"

POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "frame-ancestors": ["'none'"],
    # The pay page's form goes on to Stripe Checkout (tests/browser/test_csp_browser.py).
    "form-action": ["'self'", "https://checkout.stripe.com"],
    "base-uri": ["'self'"],
    "object-src": ["'none'"],
}


def run_with_production_settings(tmp_path: Path, *args: str, **variables: str):
    """Runs manage.py in a fresh interpreter with only production's variables (and
    an empty .env), as the server would start."""
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    environment = {
        "PATH": os.environ["PATH"],
        "ENV_FILE": str(env_file),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "clinic.example.org",
        "CSRF_TRUSTED_ORIGINS": "https://clinic.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.sqlite3'}",
        "LOG_FORMAT": "plain",
        **variables,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def print_settings(tmp_path: Path, *names: str, **variables: str) -> list[str]:
    code = (
        "from django.conf import settings; "
        f"print(*(repr(getattr(settings, name, None)) for name in {names}), sep='|')"
    )
    result = run_with_production_settings(
        tmp_path, "shell", "--no-imports", "-c", code, **variables
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().split("|")


# --- Production settings ---------------------------------------------------------


def test_production_settings_pass_the_deploy_checklist(tmp_path):
    result = run_with_production_settings(tmp_path, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


PRODUCTION_DEFAULTS = [
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "STATIC_MANIFEST",
    "SECURE_PROXY_SSL_HEADER",
]


@pytest.fixture(scope="module")
def production_defaults(tmp_path_factory) -> dict[str, str]:
    """The settings of a production start with only production's variables, by
    name (one fresh interpreter, which the tests below read)."""
    values = print_settings(tmp_path_factory.mktemp("production"), *PRODUCTION_DEFAULTS)
    return dict(zip(PRODUCTION_DEFAULTS, values, strict=True))


def test_production_is_https_only_with_hashed_static_files(production_defaults):
    redirect, hsts, session_secure, csrf_secure, static_manifest = (
        production_defaults[name]
        for name in [
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
            "SESSION_COOKIE_SECURE",
            "CSRF_COOKIE_SECURE",
            "STATIC_MANIFEST",
        ]
    )

    assert (redirect, session_secure, csrf_secure, static_manifest) == ("True",) * 4
    assert int(hsts) >= 365 * 24 * 60 * 60


def test_the_forwarded_scheme_is_believed_only_when_asked(tmp_path, production_defaults):
    # gunicorn checks the proxy's address before it believes the header.
    by_default = production_defaults["SECURE_PROXY_SSL_HEADER"]
    [behind_proxy] = print_settings(tmp_path, "SECURE_PROXY_SSL_HEADER", BEHIND_PROXY="true")

    assert by_default == "None"
    assert behind_proxy == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_development_stays_on_plain_http(tmp_path):
    redirect, hsts, session_secure, static_manifest = print_settings(
        tmp_path,
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SESSION_COOKIE_SECURE",
        "STATIC_MANIFEST",
        DEBUG="true",
    )

    assert (redirect, hsts, session_secure, static_manifest) == ("False", "0", "False", "False")


def test_the_idle_timeout_is_the_session_age(tmp_path):
    [age] = print_settings(tmp_path, "SESSION_COOKIE_AGE", SESSION_IDLE_TIMEOUT="600")

    assert age == "600"


def test_load_balancer_health_check_is_not_sent_to_https(db, settings, client):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get(reverse("login")).status_code == 301
    assert client.get("/healthz").status_code != 301


def test_collected_static_files_have_hashed_names_and_a_long_cache(db, tmp_path, settings, client):
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    call_command("collectstatic", interactive=False, verbosity=0)

    page = client.get(reverse("login")).content.decode()

    [css] = re.findall(r'href="(/static/css/clinic\.[0-9a-f]{12}\.css)"', page)
    response = client.get(css)
    response.close()
    assert response.status_code == 200
    assert "immutable" in response["Cache-Control"]
    assert re.search(r'src="/static/js/session-timeout\.[0-9a-f]{12}\.js"', page)
    assert re.search(r'src="/static/vendor/htmx/htmx\.min\.[0-9a-f]{12}\.js"', page)


# --- Content Security Policy -----------------------------------------------------


def policy_of(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sorted(values) for name, *values in directives}


def assert_strict_policy(url: str, response) -> None:
    assert response.status_code == 200, url
    assert policy_of(response) == {k: sorted(v) for k, v in POLICY.items()}, url


@pytest.fixture
def scene(db, doctor):
    """A doctor's day with a patient waiting, a completed visit with its invoice,
    and a message in the inbox."""
    patient = PatientFactory()
    now = timezone.now()
    appointment = AppointmentFactory(doctor=doctor, patient=patient, starts_at=now)
    visit = SessionFactory(doctor=doctor, patient=patient, completed=True)
    invoice = InvoiceFactory(session=visit)
    return {"patient": patient, "appointment": appointment, "visit": visit, "invoice": invoice}


def test_reception_pages_carry_the_strict_policy(reception_client, receptionist, scene):
    NotificationFactory(user=receptionist, patient=None, channel=Channel.IN_APP)
    urls = [
        reverse("home"),
        reverse("scheduling:day"),
        reverse("scheduling:book"),
        reverse("scheduling:detail", args=[scene["appointment"].pk]),
        reverse("patients:list"),
        reverse("patients:create"),
        reverse("patients:detail", args=[scene["patient"].pk]),
        reverse("doctors:list"),
        reverse("payments:invoices"),
        reverse("payments:invoice", args=[scene["invoice"].pk]),
        reverse("payments:receipt", args=[scene["invoice"].pk]),
        reverse("notifications:inbox"),
        reverse("notifications:outbox"),
    ]
    for url in urls:
        assert_strict_policy(url, reception_client.get(url))


def test_doctor_pages_carry_the_strict_policy(doctor_client, scene):
    urls = [
        reverse("home"),
        reverse("scheduling:my_day"),
        reverse("notifications:inbox"),
        reverse("notifications:live"),
        reverse("records:chart", args=[scene["patient"].pk]),
        reverse("records:session", args=[scene["visit"].pk]),
    ]
    for url in urls:
        assert_strict_policy(url, doctor_client.get(url))


def test_public_pages_carry_the_strict_policy(client, scene):
    urls = [
        reverse("login"),
        reverse("payments:pay", args=[pay_link_token(scene["invoice"])]),
        reverse("payments:checkout_done"),
    ]
    for url in urls:
        assert_strict_policy(url, client.get(url))


def test_pages_refuse_framing_and_sniffing(reception_client):
    response = reception_client.get(reverse("home"))

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


# What the policy refuses, as it would appear in a template. Django comments are
# taken out first: they never reach the browser.
FORBIDDEN = {
    "an inline <script>": re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I),
    "a <style> element": re.compile(r"<style\b", re.I),
    "a style= attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I),
    "an on*= event handler": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I),
    "a javascript: URL": re.compile(r"javascript:", re.I),
    "hx-on (htmx would need eval)": re.compile(r"\shx-on", re.I),
}
DJANGO_COMMENT = re.compile(r"{#.*?#}|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.S)


def policy_breaches(source: str) -> list[str]:
    source = DJANGO_COMMENT.sub("", source)
    return [what for what, pattern in FORBIDDEN.items() if pattern.search(source)]


def test_no_template_has_inline_scripts_styles_or_handlers():
    breaches = {
        str(template.relative_to(ROOT)): found
        for template in sorted(TEMPLATES.rglob("*.html"))
        if (found := policy_breaches(template.read_text()))
    }

    assert breaches == {}


@pytest.mark.parametrize(
    "snippet",
    [
        "<script>alert(1)</script>",
        '<script type="module">go()</script>',
        "<style>p { color: red }</style>",
        '<div class="x" style="color: red">',
        '<button type="button" onclick="go()">',
        '<a href="javascript:go()">',
        '<button hx-on:click="go()">',
    ],
)
def test_the_template_scan_finds_what_the_policy_refuses(snippet):
    assert policy_breaches(snippet)


@pytest.mark.parametrize(
    "snippet",
    [
        '<script src="/static/js/print.js"></script>',
        '<div data-grid-row="3" hx-get="/x" hx-trigger="load">',
        "{# no style= here #}",
        '<link rel="stylesheet" href="/static/css/clinic.css">',
    ],
)
def test_the_template_scan_lets_allowed_markup_through(snippet):
    assert policy_breaches(snippet) == []


# --- Idle sessions -----------------------------------------------------------------


def test_pages_tell_the_browser_when_the_idle_session_ends(settings, reception_client):
    page = reception_client.get(reverse("home")).content.decode()

    assert f'data-session-timeout="{settings.SESSION_COOKIE_AGE}"' in page
    assert f'data-session-keepalive-url="{reverse("keepalive")}"' in page
    assert "js/session-timeout.js" in page


def test_stay_signed_in_starts_the_idle_time_again(settings, reception_client, time_machine):
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    reception_client.get(reverse("home"))
    time_machine.move_to(start + timedelta(minutes=20), tick=False)

    response = reception_client.get(reverse("keepalive"))

    assert response.status_code == 204
    session = Session.objects.get(session_key=reception_client.session.session_key)
    assert session.expire_date == start + timedelta(minutes=20, seconds=settings.SESSION_COOKIE_AGE)


def session_ends_at(client) -> datetime:
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_the_idle_time_restarts_at_most_once_a_minute(settings, reception_client, time_machine):
    signed_in_at = timezone.now()  # The fixture has just signed in: that was activity.
    time_machine.move_to(signed_in_at, tick=False)
    first_end = session_ends_at(reception_client)

    time_machine.move_to(signed_in_at + timedelta(seconds=50), tick=False)
    reception_client.get(reverse("home"))
    assert session_ends_at(reception_client) == first_end

    time_machine.move_to(signed_in_at + timedelta(seconds=120), tick=False)
    reception_client.get(reverse("home"))
    assert session_ends_at(reception_client) == signed_in_at + timedelta(
        seconds=120 + settings.SESSION_COOKIE_AGE
    )


def test_a_visitor_or_an_api_token_gets_no_session(client, receptionist):
    _, token = issue_token(user=receptionist, name="tests")

    client.get(reverse("login"))
    response = client.get("/api/v1/services", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert not Session.objects.exists()


def test_a_background_poll_does_not_start_the_idle_time_again(
    settings, doctor_client, time_machine
):
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    doctor_client.get(reverse("scheduling:my_day"))
    before = session_ends_at(doctor_client)
    time_machine.move_to(start + timedelta(minutes=20), tick=False)

    response = doctor_client.get(reverse("scheduling:my_day"), headers={"X-Clinic-Poll": "true"})

    assert response.status_code == 200
    assert session_ends_at(doctor_client) == before
    doctor_client.get(reverse("scheduling:my_day"))  # The doctor, back at the screen.
    assert session_ends_at(doctor_client) == start + timedelta(
        minutes=20, seconds=settings.SESSION_COOKIE_AGE
    )


def test_the_pages_polls_say_they_are_polls(doctor_client):
    page = doctor_client.get(reverse("scheduling:my_day")).content.decode()

    # The day's list and the live alerts: each polling element sends the header.
    assert page.count("""hx-headers='{"X-Clinic-Poll": "true"}'""") == 2
    assert page.count('hx-trigger="every') + page.count('hx-trigger="load, every') == 2


def test_stay_signed_in_after_the_session_ended_goes_to_sign_in(client):
    response = client.get(reverse("keepalive"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_stay_signed_in_only_answers_get(reception_client):
    assert reception_client.post(reverse("keepalive")).status_code == 405


def test_password_rules_are_strong(settings):
    names = {v["NAME"].rsplit(".", 1)[1]: v for v in settings.AUTH_PASSWORD_VALIDATORS}

    assert set(names) >= {
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    }
    assert names["MinimumLengthValidator"]["OPTIONS"]["min_length"] >= 10


# --- Error pages -------------------------------------------------------------------


@login_not_required
def broken_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("database password is hunter2")


# The URLs of test_a_crash_shows_the_friendly_page_and_nothing_of_the_error.
urlpatterns = [path("broken/", broken_view)]


def test_an_unknown_address_shows_the_friendly_not_found_page(reception_client):
    response = reception_client.get("/no-such-page/")

    assert response.status_code == 404
    assert "404.html" in [t.name for t in response.templates]
    page = response.content.decode()
    assert "Page not found" in page
    assert 'id="main-nav"' in page
    assert policy_of(response)["script-src"] == ["'self'"]


def test_a_page_of_another_role_shows_the_friendly_forbidden_page(doctor_client):
    response = doctor_client.get(reverse("patients:create"))

    assert response.status_code == 403
    assert "403.html" in [t.name for t in response.templates]
    assert "Not allowed" in response.content.decode()


def test_a_refusal_written_for_people_is_shown(db):
    from tests.factories import DoctorUserFactory

    client = Client()
    client.force_login(DoctorUserFactory())  # a doctor's login with no Doctor profile

    response = client.get(reverse("scheduling:my_day"))

    assert response.status_code == 403
    assert "Your login is not linked to a doctor." in response.content.decode()


@pytest.mark.urls("tests.test_security")
def test_a_crash_shows_the_friendly_page_and_nothing_of_the_error(db, caplog):
    client = Client(raise_request_exception=False)

    response = client.get("/broken/")

    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page
    for leak in ("hunter2", "RuntimeError", "Traceback", "broken_view"):
        assert leak not in page
    assert policy_of(response)["script-src"] == ["'self'"]


def test_the_crash_page_needs_no_request_and_no_database():
    # No `db` fixture: a query here would fail the test.
    page = render_to_string("500.html")

    assert "Something went wrong" in page


def test_a_form_refused_by_its_csrf_check_gets_a_page_in_the_clinics_style(receptionist):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(receptionist)

    response = browser.post(reverse("patients:create"), {"given_name": "Noor"})

    assert response.status_code == 403
    page = response.content.decode()
    assert "This form has expired" in page
    assert "css/clinic.css" in page
    # Inline styles would be refused by the Content Security Policy.
    assert "<style" not in page
    assert "style=" not in page
