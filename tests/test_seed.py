from __future__ import annotations

from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from clinic.management.commands.seed_demo import DEMO_PASSWORD
from doctors.models import Doctor, WorkingHours
from patients.models import Patient


def test_seed_demo_creates_staff_doctors_hours_and_patients(db):
    call_command("seed_demo")

    assert set(User.objects.values_list("username", flat=True)) == {
        "manager",
        "reception",
        "dr.smith",
        "dr.jones",
        "dr.patel",
    }
    assert Doctor.objects.count() == 3
    assert WorkingHours.objects.filter(doctor__user__username="dr.smith").count() == 10
    assert Patient.objects.count() == 12


def test_seed_demo_is_idempotent(db):
    call_command("seed_demo")
    call_command("seed_demo")

    assert User.objects.count() == 5
    assert Doctor.objects.count() == 3
    assert WorkingHours.objects.count() == 30
    assert Patient.objects.count() == 12


def test_demo_logins_have_their_roles(db):
    call_command("seed_demo")

    manager = _signed_in("manager")
    reception = _signed_in("reception")
    doctor = _signed_in("dr.jones")

    assert manager.get(reverse("admin:index")).status_code == 200
    assert reception.get(reverse("patients:create")).status_code == 200
    assert doctor.get(reverse("admin:index")).status_code == 302
    assert User.objects.get(username="dr.jones").doctor.display_name == "Dr Jones"


def _signed_in(username: str) -> Client:
    """A client signed in through the login page (django-axes needs the request)."""
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, f"{username} could not sign in"
    return client
