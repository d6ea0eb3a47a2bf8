"""factory-boy factories with realistic defaults for the clinic's people."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User

from clinic.kernel.roles import DOCTORS, MANAGERS, RECEPTION
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


def with_working_hours(
    doctor: Doctor, *weekdays: Weekday, starts: time = time(9), ends: time = time(17)
) -> Doctor:
    """Gives `doctor` the same hours on each of `weekdays` (09:00 to 17:00 unless told)."""
    for weekday in weekdays:
        WorkingHoursFactory(doctor=doctor, weekday=weekday, starts=starts, ends=ends)
    return doctor


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


# Sessions and records.

from datetime import UTC, datetime  # noqa: E402

from records.models import (  # noqa: E402
    Allergy,
    ClinicalNote,
    MedicalRecord,
    Prescription,
    PrescriptionItem,
    Route,
    Severity,
)
from scheduling.models import Status as AppointmentStatus  # noqa: E402
from sessions_app.models import Session, SessionStatus  # noqa: E402


class SessionFactory(factory.django.DjangoModelFactory):
    """A session created from an appointment whose patient has arrived, written
    straight to the table. Each one gets its own hour, so a doctor's or patient's
    sessions never overlap. `SessionFactory(in_progress=True)` or
    `SessionFactory(completed=True)` for later stages."""

    class Meta:
        model = Session

    class Params:
        in_progress = factory.Trait(
            status=SessionStatus.IN_PROGRESS,
            started_at=factory.SelfAttribute("appointment.starts_at"),
        )
        completed = factory.Trait(
            status=SessionStatus.COMPLETED,
            started_at=factory.SelfAttribute("appointment.starts_at"),
            completed_at=factory.SelfAttribute("appointment.ends_at"),
        )

    doctor = factory.SubFactory(DoctorFactory)
    patient = factory.SubFactory(PatientFactory)
    appointment = factory.SubFactory(
        AppointmentFactory,
        doctor=factory.SelfAttribute("..doctor"),
        patient=factory.SelfAttribute("..patient"),
        status=AppointmentStatus.ARRIVED,
        starts_at=factory.Sequence(
            lambda n: datetime(2026, 3, 2, 14, tzinfo=UTC) + timedelta(hours=n)
        ),
        arrived_at=factory.SelfAttribute("starts_at"),
    )


class AllergyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Allergy

    substance = "Penicillin"
    severity = Severity.MODERATE
    reaction = "rash"


class MedicalRecordFactory(factory.django.DjangoModelFactory):
    """Penicillin (moderate: rash), asthma, a salbutamol inhaler, O+."""

    class Meta:
        model = MedicalRecord
        skip_postgeneration_save = True

    patient = factory.SubFactory(PatientFactory)
    allergy = factory.RelatedFactory(AllergyFactory, "record")
    chronic_conditions = "Asthma"
    current_medications = "Salbutamol inhaler as needed"
    blood_type = "O+"


class ClinicalNoteFactory(factory.django.DjangoModelFactory):
    """An unsigned note by the session's doctor."""

    class Meta:
        model = ClinicalNote

    session = factory.SubFactory(SessionFactory, in_progress=True)
    author = factory.SelfAttribute("session.doctor.user")
    subjective = "Cough for five days, worse at night."
    objective = "Chest clear; no fever."
    assessment = "Viral bronchitis."
    plan = "Rest, fluids; review in a week if not better."
    bp_systolic = 122
    bp_diastolic = 78
    pulse = 72


class PrescriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prescription

    session = factory.SubFactory(SessionFactory, in_progress=True)
    created_by = factory.SelfAttribute("session.doctor.user")


class PrescriptionItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PrescriptionItem

    prescription = factory.SubFactory(PrescriptionFactory)
    medication = "Amoxicillin"
    strength = "500 mg"
    dose = "1 capsule"
    route = Route.ORAL
    frequency = "three times a day"
    duration = "7 days"
    quantity = 21
    instructions = "After meals."


# Notifications.

from notifications.models import Channel, Notification  # noqa: E402


class NotificationFactory(factory.django.DjangoModelFactory):
    """An outbox row written straight to the table: an SMS to a patient, due now.
    Pass `user=...` and `patient=None` for a staff message."""

    class Meta:
        model = Notification

    patient = factory.SubFactory(PatientFactory)
    channel = Channel.SMS
    template = "appointment_booked"
    body = "Riverside Clinic: your appointment is booked."
    idempotency_key = factory.Sequence(lambda n: f"test:{n}")


# Payments.

from payments.models import Invoice, InvoiceLine  # noqa: E402
from payments.services import refresh_totals  # noqa: E402


class InvoiceFactory(factory.django.DjangoModelFactory):
    """An open invoice for a completed session, written straight to the tables with
    one line (a consultation at 80.00). Tests of the invoice rules go through
    `payments.services`; call `refresh_totals` after adding lines or payments."""

    class Meta:
        model = Invoice
        skip_postgeneration_save = True

    session = factory.SubFactory(SessionFactory, completed=True)
    patient = factory.SelfAttribute("session.patient")
    number = factory.Sequence(lambda n: 100_000 + n)
    currency = "USD"
    issued_at = factory.SelfAttribute("session.completed_at")

    @factory.post_generation
    def lines(invoice, create, extracted, **kwargs):
        for unit_price in extracted or [Decimal("80.00")]:
            InvoiceLine.objects.create(
                invoice=invoice,
                service=ServiceFactory(),
                description="Consultation",
                quantity=1,
                unit_price=unit_price,
            )
        refresh_totals(invoice)
