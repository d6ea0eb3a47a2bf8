"""Languages at the desk: the chooser, each staff user's own language, the page's
direction, and the patient's preferred language."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from clinic.models import StaffProfile
from patients.models import Patient
from payments.services import pay_link_token
from tests.factories import TEST_PASSWORD, InvoiceFactory, PatientFactory, ReceptionistFactory
from tests.helpers import new_patient


def sign_in(client: Client, user) -> None:
    response = client.post(reverse("login"), {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302


def html_tag(response) -> str:
    content = response.content.decode()
    return content[content.index("<html") : content.index(">", content.index("<html")) + 1]


@pytest.mark.django_db
def test_pages_are_in_english_left_to_right_by_default(reception_client):
    response = reception_client.get(reverse("patients:list"))

    assert html_tag(response) == '<html lang="en" dir="ltr">'
    assert "bootstrap.min.css" in response.content.decode()


@pytest.mark.django_db
def test_receptionist_chooses_spanish_and_keeps_it_at_the_next_sign_in():
    receptionist = ReceptionistFactory()
    client = Client()
    sign_in(client, receptionist)

    response = client.post(
        reverse("set_language"), {"language": "es", "next": reverse("patients:list")}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("patients:list")
    assert StaffProfile.objects.get(user=receptionist).language == "es"
    assert 'lang="es"' in html_tag(client.get(reverse("patients:list")))

    # Another browser, which asks for English and has no cookie: the profile wins.
    other = Client(headers={"accept-language": "en"})
    sign_in(other, receptionist)
    response = other.get(reverse("patients:list"))
    assert html_tag(response) == '<html lang="es" dir="ltr">'
    assert response["Content-Language"] == "es"


@pytest.mark.django_db
def test_arabic_pages_are_right_to_left_with_bootstraps_rtl_stylesheet():
    receptionist = ReceptionistFactory()
    StaffProfile.objects.create(user=receptionist, language="ar")
    client = Client()
    sign_in(client, receptionist)

    response = client.get(reverse("patients:list"))

    assert html_tag(response) == '<html lang="ar" dir="rtl">'
    assert "bootstrap.rtl.min.css" in response.content.decode()


@pytest.mark.django_db
def test_visitor_chooses_a_language_on_the_sign_in_page():
    client = Client()
    page = client.get(reverse("login")).content.decode()
    assert 'action="/language/"' in page

    response = client.post(reverse("set_language"), {"language": "ar", "next": reverse("login")})

    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ar"
    assert html_tag(client.get(reverse("login"))) == '<html lang="ar" dir="rtl">'
    assert not StaffProfile.objects.exists()


@pytest.mark.django_db
def test_an_unknown_language_changes_nothing(reception_client, receptionist):
    response = reception_client.post(
        reverse("set_language"), {"language": "xx", "next": "https://elsewhere.example/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"  # Never off the site.
    assert not StaffProfile.objects.filter(user=receptionist).exists()
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


@pytest.mark.django_db
def test_the_language_chooser_only_takes_posts(reception_client):
    assert reception_client.get(reverse("set_language")).status_code == 405


@pytest.mark.django_db
def test_reception_records_a_patients_preferred_language(reception_client):
    response = reception_client.post(
        reverse("patients:create"), new_patient(preferred_language="es"), follow=True
    )

    patient = Patient.objects.get()
    assert patient.preferred_language == "es"
    assert "Spanish" in response.content.decode()


@pytest.mark.django_db
def test_a_language_the_clinic_does_not_offer_is_refused(reception_client):
    patient = PatientFactory(preferred_language="ar")

    response = reception_client.post(
        reverse("patients:edit", args=[patient.pk]), new_patient(preferred_language="klingon")
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    patient.refresh_from_db()
    assert patient.preferred_language == "ar"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "patients", "sign_out"),
    [("es", "Pacientes", "Cerrar sesión"), ("ar", "المرضى", "تسجيل الخروج")],
)
def test_the_staff_pages_speak_the_users_language(language, patients, sign_out):
    receptionist = ReceptionistFactory()
    StaffProfile.objects.create(user=receptionist, language=language)
    client = Client()
    sign_in(client, receptionist)

    page = client.get(reverse("patients:list")).content.decode()

    assert f'<h1 class="h3 mb-0">{patients}</h1>' in page
    assert sign_out in page


# --- The patient's pay page in the patient's language ----------------------------


@pytest.fixture
def spanish_invoice(db, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_languages"
    return InvoiceFactory(session__patient=PatientFactory(preferred_language="es"))


def test_the_pay_page_is_in_the_patients_language(client, spanish_invoice):
    response = client.get(reverse("payments:pay", args=[pay_link_token(spanish_invoice)]))

    page = response.content.decode()
    assert html_tag(response) == '<html lang="es" dir="ltr">'
    assert "Pagar en línea" in page


def test_the_pay_pages_chooser_wins_over_the_patients_language(client, spanish_invoice):
    path = reverse("payments:pay", args=[pay_link_token(spanish_invoice)])
    client.post(reverse("set_language"), {"language": "ar", "next": path})

    response = client.get(path)

    assert html_tag(response) == '<html lang="ar" dir="rtl">'
    assert "الدفع عبر الإنترنت" in response.content.decode()


def test_a_patient_without_a_language_gets_the_browsers(db, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_languages"
    invoice = InvoiceFactory()
    client = Client(headers={"accept-language": "ar"})

    response = client.get(reverse("payments:pay", args=[pay_link_token(invoice)]))

    assert html_tag(response) == '<html lang="ar" dir="rtl">'


def test_the_manager_sets_a_users_language_with_the_user_in_admin(admin_client, receptionist):
    page = admin_client.get(reverse("admin:auth_user_change", args=[receptionist.pk]))

    assert page.status_code == 200
    assert 'name="staff_profile-0-language"' in page.content.decode()
