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

    manager, reception, doctor = Client(), Client(), Client()
    assert manager.login(username="manager", password=DEMO_PASSWORD)
    assert reception.login(username="reception", password=DEMO_PASSWORD)
    assert doctor.login(username="dr.jones", password=DEMO_PASSWORD)

    assert manager.get(reverse("admin:index")).status_code == 200
    assert reception.get(reverse("patients:create")).status_code == 200
    assert doctor.get(reverse("admin:index")).status_code == 302
    assert User.objects.get(username="dr.jones").doctor.display_name == "Dr Jones"
