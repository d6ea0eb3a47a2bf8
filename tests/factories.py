"""factory-boy factories with realistic defaults for the clinic's people."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User

from clinic.roles import DOCTORS, MANAGERS, RECEPTION
from doctors.models import Doctor, Specialty, TimeOff, Weekday, WorkingHours
from patients.models import Patient, Sex
from scheduling.models import Appointment, Service

TEST_PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@clinic.example")
    password = factory.django.Password(TEST_PASSWORD)


def member_of(role: str) -> factory.PostGeneration:
    """Puts the created user in a role's group (created by the roles migration)."""

    def join(user: User, create: bool, extracted, **kwargs) -> None:
        if create:
            user.groups.add(Group.objects.get(name=role))

    return factory.PostGeneration(join)


class ReceptionistFactory(UserFactory):
    username = factory.Sequence(lambda n: f"reception{n}")
    role = member_of(RECEPTION)


class ManagerFactory(UserFactory):
    username = factory.Sequence(lambda n: f"manager{n}")
    is_staff = True
    role = member_of(MANAGERS)


class DoctorUserFactory(UserFactory):
    username = factory.Sequence(lambda n: f"doctor{n}")
    role = member_of(DOCTORS)


class SpecialtyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Specialty
        django_get_or_create = ["name"]

    name = "General practice"


class DoctorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Doctor

    user = factory.SubFactory(DoctorUserFactory)
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    specialty = factory.SubFactory(SpecialtyFactory)
    phone = factory.Sequence(lambda n: f"+1202555{n % 10000:04d}")
    email = factory.LazyAttribute(lambda d: f"{d.family_name.lower()}@clinic.example")


class WorkingHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkingHours

    doctor = factory.SubFactory(DoctorFactory)
    weekday = Weekday.MONDAY
    starts = time(9)
    ends = time(17)


class TimeOffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeOff

    doctor = factory.SubFactory(DoctorFactory)
    reason = "Annual leave"


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    date_of_birth = date(1985, 6, 15)
    sex = Sex.FEMALE
    phone = factory.Sequence(lambda n: f"+1202555{(n + 5000) % 10000:04d}")


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        django_get_or_create = ["code"]

    code = "consult"
    name = "Consultation"
    duration_minutes = 30
    price = Decimal("80.00")


class AppointmentFactory(factory.django.DjangoModelFactory):
    """An appointment written straight to the table, for arranging a scene; tests of
    the booking rules go through `scheduling.services.book_appointment`."""

    class Meta:
        model = Appointment

    doctor = factory.SubFactory(DoctorFactory)
    patient = factory.SubFactory(PatientFactory)
    service = factory.SubFactory(ServiceFactory)
    ends_at = factory.LazyAttribute(
        lambda a: a.starts_at + timedelta(minutes=a.service.duration_minutes)
    )
