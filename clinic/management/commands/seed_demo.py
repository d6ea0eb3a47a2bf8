"""Fill an empty clinic with demo staff, doctors' hours and patients.

Idempotent: running it again updates the same rows instead of adding more, so
`make run` can call it on every start. The logins are for a demo only.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from clinic.kernel.roles import DOCTORS, MANAGERS, RECEPTION
from doctors.models import Doctor, Specialty, Weekday, WorkingHours
from online.models import OnlineRules
from patients.models import Patient, Sex
from patients.services import save_patient
from records.models import NoteTemplate
from scheduling.models import Appointment, OnlineBooking, Service
from scheduling.selectors import Slot, free_slots
from scheduling.services import book_appointment, confirm_appointment

DEMO_PASSWORD = "clinic-demo"

STAFF = [
    # username, first name, last name, role
    ("manager", "Maria", "Lopez", MANAGERS),
    ("reception", "Rita", "Owens", RECEPTION),
]

DOCTORS_ = [
    # username, given name, family name, specialty, phone
    ("dr.smith", "Alan", "Smith", "General practice", "+12025550141"),
    ("dr.jones", "Beth", "Jones", "Paediatrics", "+12025550142"),
    ("dr.patel", "Chetan", "Patel", "Dermatology", "+12025550143"),
]

# What a prescription prints under the prescriber's name: qualification, registration.
PRESCRIBERS = {
    "dr.smith": ("MD", "MC-104233"),
    "dr.jones": ("MD, FAAP", "MC-118470"),
    "dr.patel": ("MBBS, MD", "MC-120915"),
}

# The manager's note templates (admin: Records, Note templates): general, or for a
# service by its code.
NOTE_TEMPLATES = [
    # name, service code or None, subjective, objective, assessment, plan
    (
        "Follow-up visit",
        "follow-up",
        "Since the last visit: ",
        "Examination: ",
        "Condition stable.",
        "Continue the current treatment; review in 3 months.",
    ),
    (
        "Upper respiratory infection",
        None,
        "Cough, sore throat, runny nose for … days. No shortness of breath.",
        "Temperature: . Throat: . Chest: clear.",
        "Viral upper respiratory tract infection.",
        "Rest, fluids, paracetamol as needed; return if worse or not better in a week.",
    ),
]

# A split shift on weekdays: mornings and afternoons with a lunch break.
WEEKDAY_HOURS = [(time(9), time(12, 30)), (time(13, 30), time(17))]

SERVICES = [
    # code, name, minutes, price, booked online by whom, price shown online
    ("consult", "Consultation", 30, Decimal("80.00"), OnlineBooking.ANYONE, True),
    ("follow-up", "Follow-up visit", 15, Decimal("45.00"), OnlineBooking.EXISTING, False),
    ("vaccination", "Vaccination", 15, Decimal("30.00"), OnlineBooking.ANYONE, True),
    ("skin-check", "Skin check", 20, Decimal("95.00"), OnlineBooking.NO, False),
]
# Patients may choose these doctors on the booking site (/book/).
BOOKABLE_ONLINE = {"dr.smith", "dr.jones"}
OPENING_HOURS = "Monday to Friday, 9:00 to 12:30 and 13:30 to 17:00"
DIRECTIONS = "Second floor, above the pharmacy; lift by the main door."

PATIENTS = [
    # given, family, born, sex, phone, national id
    ("Anna", "Smithson", date(1984, 3, 12), Sex.FEMALE, "+12025550101", "NID-1001"),
    ("Ben", "Carter", date(1979, 7, 1), Sex.MALE, "+12025550102", "NID-1002"),
    ("Chloe", "Nguyen", date(1992, 11, 23), Sex.FEMALE, "+12025550103", "NID-1003"),
    ("David", "Okafor", date(1966, 5, 9), Sex.MALE, "+12025550104", "NID-1004"),
    ("Elena", "Rossi", date(2001, 2, 17), Sex.FEMALE, "+12025550105", "NID-1005"),
    ("Farid", "Haddad", date(1958, 9, 30), Sex.MALE, "+12025550106", "NID-1006"),
    ("Grace", "Kim", date(2015, 6, 4), Sex.FEMALE, "+12025550107", "NID-1007"),
    ("Hugo", "Martin", date(1988, 12, 14), Sex.MALE, "+12025550108", "NID-1008"),
    ("Ines", "Silva", date(1973, 4, 21), Sex.FEMALE, "+12025550109", "NID-1009"),
    ("Jamal", "Wright", date(1995, 8, 8), Sex.MALE, "+12025550110", "NID-1010"),
    ("Kate", "O'Brien", date(1949, 1, 26), Sex.FEMALE, "+12025550111", "NID-1011"),
    ("Liam", "Fischer", date(2010, 10, 12), Sex.MALE, "+12025550112", "NID-1012"),
]


class Command(BaseCommand):
    help = "Create demo staff, doctors with working hours and patients (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        for username, first_name, last_name, role in STAFF:
            self.staff_user(username, first_name, last_name, role)
        for username, given, family, specialty, phone in DOCTORS_:
            user = self.staff_user(username, given, family, DOCTORS)
            self.doctor(user, given, family, specialty, phone)
        for given, family, born, sex, phone, national_id in PATIENTS:
            patient = Patient.objects.filter(national_id=national_id).first() or Patient()
            patient.given_name, patient.family_name = given, family
            patient.date_of_birth, patient.sex, patient.phone = born, sex, phone
            patient.national_id = national_id
            save_patient(patient=patient, sms_opt_out=False)
        for code, name, minutes, price, online, price_shown in SERVICES:
            Service.objects.update_or_create(
                code=code,
                defaults={
                    "name": name,
                    "duration_minutes": minutes,
                    "price": price,
                    "online_booking": online,
                    "show_price_online": price_shown,
                },
            )
        rules = OnlineRules.current()
        rules.opening_hours = rules.opening_hours or OPENING_HOURS
        rules.directions = rules.directions or DIRECTIONS
        rules.save()
        for name, service_code, subjective, objective, assessment, plan in NOTE_TEMPLATES:
            NoteTemplate.objects.update_or_create(
                name=name,
                defaults={
                    "service": Service.objects.get(code=service_code) if service_code else None,
                    "subjective": subjective,
                    "objective": objective,
                    "assessment": assessment,
                    "plan": plan,
                    "is_active": True,
                },
            )
        self.upcoming_appointments()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo clinic ready: {len(STAFF) + len(DOCTORS_)} staff logins "
                f"(password {DEMO_PASSWORD!r}), {len(PATIENTS)} patients, "
                f"{Appointment.objects.count()} appointments."
            )
        )

    def staff_user(self, username: str, first_name: str, last_name: str, role: str) -> User:
        user, _ = User.objects.update_or_create(
            username=username,
            defaults={
                "first_name": first_name,
                "last_name": last_name,
                "email": f"{username}@clinic.example",
                # Only managers use Django admin.
                "is_staff": role == MANAGERS,
            },
        )
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        user.groups.set([Group.objects.get(name=role)])
        return user

    def doctor(self, user: User, given: str, family: str, specialty: str, phone: str) -> None:
        doctor, _ = Doctor.objects.update_or_create(
            user=user,
            defaults={
                "given_name": given,
                "family_name": family,
                "specialty": Specialty.objects.get_or_create(name=specialty)[0],
                "phone": phone,
                "email": user.email,
                "qualification": PRESCRIBERS[user.username][0],
                "registration_number": PRESCRIBERS[user.username][1],
                "is_active": True,
                "bookable_online": user.username in BOOKABLE_ONLINE,
            },
        )
        if not doctor.working_hours.exists():
            WorkingHours.objects.bulk_create(
                WorkingHours(doctor=doctor, weekday=weekday, starts=starts, ends=ends)
                for weekday in (
                    Weekday.MONDAY,
                    Weekday.TUESDAY,
                    Weekday.WEDNESDAY,
                    Weekday.THURSDAY,
                    Weekday.FRIDAY,
                )
                for starts, ends in WEEKDAY_HOURS
            )

    def upcoming_appointments(self) -> None:
        """A few bookings on the next working day, the first time only, made through
        the booking service like any other."""
        if Appointment.objects.filter(starts_at__gte=timezone.now()).exists():
            return
        service = Service.objects.get(code="consult")
        patients = list(Patient.objects.order_by("pk"))
        day = timezone.localdate() + timedelta(days=1)
        slots: list[Slot] = []
        while not slots and day < timezone.localdate() + timedelta(days=8):
            slots = free_slots(service=service, date_from=day, date_to=day)
            day += timedelta(days=1)
        taken_doctors: dict[int, int] = {}
        for slot in slots[::5]:
            if not patients or taken_doctors.get(slot.doctor.pk, 0) >= 3:
                continue
            appointment = book_appointment(
                patient=patients.pop(0),
                doctor=slot.doctor,
                service=service,
                starts_at=slot.starts_at,
                booked_by=None,
                reason="Demo booking",
            )
            taken_doctors[slot.doctor.pk] = taken_doctors.get(slot.doctor.pk, 0) + 1
            if appointment.pk % 2:
                confirm_appointment(appointment=appointment, by=None)
