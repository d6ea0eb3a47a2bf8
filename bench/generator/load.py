"""A realistic clinic, generated: years of appointments for load tests and benchmarks.

`generate(doctors=20, years=5)` fills an empty database with what a clinic of that
size would hold after that long: doctors with specialties, weekly hours and leave,
a catalogue of services, tens of thousands of patients, about 2,500 appointments per
doctor and year in every status, and for each completed visit its session, signed
clinical note, sometimes a prescription, and an invoice with its payments. The
outbox holds what the purge (`purge_old_notifications`) would have left: the SMS of
the last NOTIFICATIONS_RETENTION_DAYS and the reminders still to go.

Every row obeys the rules the services keep (no overlaps for a doctor or a patient,
inside working hours and on the slot grid, statuses and sessions that agree, invoice
totals exactly as `refresh_totals` derives them, numbers without gaps), but it is
written with `bulk_create` rather than through the services: the services send
signals, render messages and lock rows one appointment at a time, which would take
hours. The same arguments (and the same `now`) give the same data.

Rows are written in batches inside one transaction, so a failure leaves nothing.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import count

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.urls import reverse
from django.utils import timezone

from clinic.roles import DOCTORS, MANAGERS, RECEPTION
from doctors.models import Doctor, Specialty, TimeOff, WorkingHours
from notifications.messages import render_message, when
from notifications.models import Channel, Notification
from notifications.models import Status as MessageStatus
from notifications.timing import outside_quiet_hours
from patients.models import Patient, Sex
from payments.models import (
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Payment,
    PaymentStatus,
    Refund,
)
from records.models import BloodType, ClinicalNote, MedicalRecord, Prescription, PrescriptionItem
from scheduling.availability import clinic_zone
from scheduling.models import Appointment, AppointmentChange, Service, Status
from sessions_app.models import PerformedService, Session, SessionStatus

Progress = Callable[[str, int, int], None]

BATCH_SIZE = 5000
# About 250,000 appointments for 20 doctors over 5 years.
APPOINTMENTS_PER_DOCTOR_YEAR = 2500
PATIENTS_PER_DOCTOR = 1500
USERNAME_PREFIX = "load."
PASSWORD = "!load-test-no-login"  # unusable: these logins cannot sign in


class NotEmpty(Exception):
    """The database already holds a clinic; the generator only fills an empty one."""


# --- The clinic's shape ---------------------------------------------------------------

# code: (name, minutes, price today)
SERVICES: dict[str, tuple[str, int, str]] = {
    "consult": ("Consultation", 30, "80.00"),
    "follow-up": ("Follow-up visit", 15, "45.00"),
    "extended-consult": ("Extended consultation", 45, "120.00"),
    "physical": ("Annual physical", 45, "150.00"),
    "vaccination": ("Vaccination", 15, "30.00"),
    "blood-draw": ("Blood draw", 15, "25.00"),
    "well-child": ("Well-child check", 30, "75.00"),
    "skin-check": ("Skin check", 20, "95.00"),
    "skin-procedure": ("Minor skin procedure", 30, "160.00"),
    "cardio-consult": ("Cardiology consultation", 45, "180.00"),
    "ecg": ("ECG", 15, "60.00"),
    "gyn-exam": ("Gynaecological exam", 30, "130.00"),
    "ortho-consult": ("Orthopaedic assessment", 30, "140.00"),
    "physio": ("Physiotherapy session", 45, "70.00"),
    "psych-consult": ("Psychiatric consultation", 60, "190.00"),
    "psych-review": ("Medication review", 30, "110.00"),
}
# Prices rise this much on each 1 January; a past visit is billed at its year's price.
YEARLY_PRICE_RISE = Decimal("1.03")


@dataclass(frozen=True)
class Profile:
    """What a specialty's visits look like."""

    visits: tuple[tuple[str, int], ...]  # (service code, weight)
    extras: tuple[str, ...]  # sometimes performed on top of the visit
    reasons: tuple[str, ...]
    assessments: tuple[str, ...]
    plans: tuple[str, ...]
    prescribes: float  # share of visits with a prescription
    children: bool = False


# fmt: off
PROFILES: dict[str, Profile] = {
    "General practice": Profile(
        visits=(("consult", 50), ("follow-up", 30), ("extended-consult", 8), ("physical", 7),
                ("vaccination", 5)),
        extras=("blood-draw", "vaccination", "ecg"),
        reasons=("Cough and sore throat", "Back pain", "Fatigue", "Blood pressure check",
                 "Headaches", "Flu-like symptoms", "Repeat prescription", "Rash",
                 "Abdominal pain", "Annual check-up", "Test results", "Ear pain"),
        assessments=("Upper respiratory tract infection", "Mechanical low back pain",
                     "Essential hypertension, controlled", "Tension-type headache",
                     "Viral illness", "Type 2 diabetes, stable", "Gastritis",
                     "Iron deficiency suspected", "Healthy adult"),
        plans=("Rest, fluids, paracetamol as needed. Review if not better in a week.",
               "Bloods ordered. Follow-up in two weeks with results.",
               "Continue current medication. Review in three months.",
               "Physiotherapy referral. Simple analgesia.",
               "Lifestyle advice given. Recheck blood pressure in one month."),
        prescribes=0.35,
    ),
    "Paediatrics": Profile(
        visits=(("well-child", 40), ("consult", 35), ("follow-up", 15), ("vaccination", 10)),
        extras=("vaccination",),
        reasons=("Fever", "Well-child visit", "Cough", "Ear pain", "Vaccinations due",
                 "Rash", "Poor feeding", "Sore throat"),
        assessments=("Otitis media", "Viral upper respiratory infection",
                     "Normal growth and development", "Eczema", "Tonsillitis",
                     "Gastroenteritis"),
        plans=("Fluids and antipyretics. Return if fever persists beyond 3 days.",
               "Vaccines given as per schedule. Next check in six months.",
               "Emollients twice daily. Review in four weeks.",
               "Antibiotics started. Review if no improvement in 48 hours."),
        prescribes=0.3,
        children=True,
    ),
    "Dermatology": Profile(
        visits=(("skin-check", 50), ("skin-procedure", 20), ("follow-up", 30)),
        extras=("skin-procedure",),
        reasons=("Mole check", "Acne", "Itchy rash", "Psoriasis review", "Skin lesion",
                 "Hair loss"),
        assessments=("Benign naevus", "Acne vulgaris", "Contact dermatitis",
                     "Plaque psoriasis", "Seborrhoeic keratosis", "Actinic keratosis"),
        plans=("Topical treatment, review in eight weeks.",
               "Lesion excised and sent for histology.",
               "Annual skin check recommended. Sun protection advice."),
        prescribes=0.45,
    ),
    "Cardiology": Profile(
        visits=(("cardio-consult", 55), ("follow-up", 35), ("ecg", 10)),
        extras=("ecg", "blood-draw"),
        reasons=("Chest pain", "Palpitations", "Hypertension review", "Shortness of breath",
                 "Follow-up after admission"),
        assessments=("Stable angina", "Paroxysmal atrial fibrillation",
                     "Hypertension, suboptimally controlled", "Non-cardiac chest pain",
                     "Heart failure, stable"),
        plans=("Echocardiogram requested. Continue beta blocker.",
               "24-hour Holter monitor. Review with results.",
               "Dose adjusted. Recheck in six weeks."),
        prescribes=0.4,
    ),
    "Gynaecology": Profile(
        visits=(("gyn-exam", 60), ("consult", 20), ("follow-up", 20)),
        extras=("blood-draw",),
        reasons=("Routine exam", "Irregular periods", "Pelvic pain", "Contraception advice",
                 "Menopause symptoms"),
        assessments=("Normal examination", "Dysmenorrhoea", "Perimenopause",
                     "Polycystic ovary syndrome suspected"),
        plans=("Ultrasound requested. Review with results.",
               "Routine screening in three years.", "Hormonal treatment discussed."),
        prescribes=0.3,
    ),
    "Orthopaedics": Profile(
        visits=(("ortho-consult", 60), ("follow-up", 40)),
        extras=(),
        reasons=("Knee pain", "Shoulder pain", "Sports injury", "Post-operative review",
                 "Hip pain"),
        assessments=("Osteoarthritis of the knee", "Rotator cuff tendinopathy",
                     "Ankle sprain", "Healing well after surgery"),
        plans=("Physiotherapy and analgesia. X-ray if no better.",
               "MRI requested.", "Steroid injection discussed."),
        prescribes=0.25,
    ),
    "Physiotherapy": Profile(
        visits=(("physio", 85), ("follow-up", 15)),
        extras=(),
        reasons=("Rehabilitation", "Neck pain", "Back pain", "Knee rehabilitation",
                 "Shoulder stiffness"),
        assessments=("Improving range of motion", "Muscular strain",
                     "Post-operative rehabilitation, on track"),
        plans=("Home exercise programme updated. Next session in one week.",
               "Manual therapy given. Continue exercises."),
        prescribes=0.03,
    ),
    "Psychiatry": Profile(
        visits=(("psych-consult", 45), ("psych-review", 55)),
        extras=(),
        reasons=("Low mood", "Anxiety", "Sleep problems", "Medication review",
                 "Follow-up"),
        assessments=("Moderate depressive episode", "Generalised anxiety disorder",
                     "Insomnia", "Stable on current treatment"),
        plans=("Continue SSRI. Review in four weeks.",
               "Referral for cognitive behavioural therapy.",
               "Sleep hygiene advice. Review in six weeks."),
        prescribes=0.6,
    ),
}
SPECIALTY_CYCLE = [
    "General practice", "General practice", "Paediatrics", "Dermatology",
    "General practice", "Cardiology", "Gynaecology", "Orthopaedics", "General practice",
    "Physiotherapy", "Paediatrics", "Psychiatry", "General practice", "Dermatology",
    "Cardiology", "General practice", "Gynaecology", "Paediatrics", "Physiotherapy",
    "General practice",
]
# fmt: on


def _hours(spec: str) -> list[tuple[time, time]]:
    """ "09:00-12:30 13:30-17:00" as ranges."""
    ranges = []
    for part in spec.split():
        starts, ends = part.split("-")
        ranges.append((time.fromisoformat(starts), time.fromisoformat(ends)))
    return ranges


# (weight, {weekday: ranges}): most doctors full time with a lunch break, some part
# time, a few with a late clinic or Saturday mornings.
WEEKDAYS = range(5)
TIMETABLES: list[tuple[int, dict[int, list[tuple[time, time]]]]] = [
    (40, {day: _hours("09:00-12:30 13:30-17:00") for day in WEEKDAYS}),
    (15, {day: _hours("08:00-12:00 13:00-16:00") for day in WEEKDAYS}),
    (10, {day: _hours("10:00-13:00 14:00-18:30") for day in WEEKDAYS}),
    (5, {**{day: _hours("12:00-20:00") for day in range(4)}, 4: _hours("09:00-13:00")}),
    (15, {day: _hours("09:00-13:00 14:00-17:00") for day in (0, 2, 3)}),
    (10, {day: _hours("08:30-12:30") for day in WEEKDAYS}),
]
SATURDAY_MORNINGS = _hours("09:00-12:00")
# Fixed-date public holidays: every doctor has them off.
HOLIDAYS = [(1, 1, "New Year's Day"), (7, 4, "Independence Day"), (12, 25, "Christmas Day")]

# fmt: off
GIVEN_FEMALE = [
    "Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Amelia", "Harper", "Evelyn",
    "Abigail", "Emily", "Ella", "Grace", "Chloe", "Zoe", "Nora", "Lily", "Hannah", "Layla",
    "Aria", "Leah", "Maya", "Sara", "Anna", "Ines", "Elena", "Priya", "Aisha", "Fatima",
    "Mei", "Yuki", "Sofia", "Lucia", "Rosa", "Clara", "Julia", "Alice", "Ruth", "Helen",
    "Margaret",
]
GIVEN_MALE = [
    "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry",
    "Alexander", "Daniel", "Michael", "Ethan", "Jacob", "Logan", "Jackson", "Samuel", "David",
    "Joseph", "Carlos", "Mateo", "Omar", "Ahmed", "Ravi", "Arjun", "Kenji", "Hiroshi", "Luca",
    "Marco", "Pedro", "Jamal", "Kwame", "Tomas", "Hugo", "Felix", "Peter", "George", "Frank",
    "Walter", "Arthur",
]
FAMILY = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Patel", "Kim", "Chen", "Wang",
    "Singh", "Khan", "Ali", "Cohen", "Murphy", "O'Brien", "Kelly", "Sullivan", "Rossi",
    "Russo", "Ferrari", "Muller", "Schmidt", "Fischer", "Weber", "Novak", "Kowalski", "Silva",
    "Santos", "Costa", "Okafor", "Mensah", "Haddad", "Nakamura", "Tanaka", "Sato", "Ivanova",
    "Petrov", "Larsen", "Hansen", "Berg", "Dubois", "Moreau", "Laurent", "Bianchi", "D'Arcy",
    "Fitzgerald", "Byrne",
]
STREETS = [
    "Main", "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park",
    "River", "Church", "Spring", "Highland", "Sunset", "Willow", "Chestnut", "Walnut",
    "Franklin", "Lincoln",
]
STREET_KINDS = ("St", "Ave", "Rd", "Ln", "Dr", "Ct", "Blvd")
CITIES = ("Springfield", "Riverside", "Fairview", "Greenville", "Franklin", "Clinton")

MEDICATIONS = [
    # medication, strength, dose, route, frequency, duration, quantity, instructions
    ("Amoxicillin", "500 mg", "1 capsule", "oral", "three times a day", "7 days", 21,
     "Finish the course."),
    ("Ibuprofen", "400 mg", "1 tablet", "oral", "three times a day as needed", "5 days", 15,
     "Take after meals."),
    ("Paracetamol", "500 mg", "2 tablets", "oral", "every 6 hours as needed", "5 days", 40,
     "No more than 8 tablets in 24 hours."),
    ("Lisinopril", "10 mg", "1 tablet", "oral", "once a day", "3 months", 90, ""),
    ("Amlodipine", "5 mg", "1 tablet", "oral", "once a day", "3 months", 90, ""),
    ("Metformin", "500 mg", "1 tablet", "oral", "twice a day", "3 months", 180,
     "Take with food."),
    ("Atorvastatin", "20 mg", "1 tablet", "oral", "once a day at night", "3 months", 90, ""),
    ("Omeprazole", "20 mg", "1 capsule", "oral", "once a day before breakfast", "4 weeks", 28,
     ""),
    ("Salbutamol", "100 mcg", "2 puffs", "inhaled", "as needed", "", 1,
     "Shake the inhaler first."),
    ("Cetirizine", "10 mg", "1 tablet", "oral", "once a day", "30 days", 30, ""),
    ("Hydrocortisone cream", "1%", "thin layer", "topical", "twice a day", "2 weeks", 1,
     "Apply to affected skin only."),
    ("Sertraline", "50 mg", "1 tablet", "oral", "once a day", "30 days", 30,
     "Do not stop suddenly."),
    ("Melatonin", "2 mg", "1 tablet", "oral", "at bedtime", "3 weeks", 21, ""),
    ("Bisoprolol", "2.5 mg", "1 tablet", "oral", "once a day", "3 months", 90, ""),
    ("Doxycycline", "100 mg", "1 capsule", "oral", "once a day", "8 weeks", 56,
     "Avoid strong sunlight."),
    ("Adapalene gel", "0.1%", "thin layer", "topical", "once a day at night", "12 weeks", 1, ""),
    ("Naproxen", "250 mg", "1 tablet", "oral", "twice a day", "10 days", 20,
     "Take with food."),
    ("Fluticasone nasal spray", "50 mcg", "2 sprays", "nasal", "once a day", "1 month", 1, ""),
    ("Chloramphenicol eye drops", "0.5%", "1 drop", "ophthalmic", "four times a day",
     "5 days", 1, ""),
    ("Amoxicillin suspension", "250 mg/5 ml", "5 ml", "oral", "three times a day", "7 days", 1,
     "Shake well."),
]
ONSETS = ("Started a few days ago.", "On and off for weeks.", "Since the last visit.",
          "Worse at night.", "No other complaints.")
CANCELLATION_REASONS = ("Patient called to cancel", "Feeling better", "Clash with work",
                        "Unwell, will rebook", "Transport problem", "Booked by mistake",
                        "Doctor unavailable")
VOID_REASONS = ("Billed in error", "Duplicate visit record", "Fee waived by the manager")
REFUND_REASONS = ("Overcharged", "Service not provided in full", "Goodwill refund")
ALLERGIES = ("", "", "", "Penicillin", "Peanuts", "Latex", "Sulfonamides", "Shellfish",
             "Aspirin")
CONDITIONS = ("", "", "", "Hypertension", "Type 2 diabetes", "Asthma", "Hypothyroidism",
              "Migraine", "Osteoarthritis")
# fmt: on


# --- Working state ---------------------------------------------------------------------


@dataclass(slots=True)
class PlannedService:
    model: Service
    steps: int  # slot-grid steps it takes, rounded up

    @property
    def minutes(self) -> int:
        return self.model.duration_minutes


@dataclass(slots=True)
class PlannedDoctor:
    model: Doctor
    user_id: int
    username: str
    profile: Profile
    hours: dict[int, list[tuple[time, time]]]
    days_off: set[date] = field(default_factory=set)
    visits: list[tuple[PlannedService, int]] = field(default_factory=list)  # cumulative
    extras: list[PlannedService] = field(default_factory=list)
    panel: list[int] = field(default_factory=list)  # patient indexes, ascending
    panel_weights: list[float] = field(default_factory=list)  # cumulative


@dataclass(slots=True)
class PlannedPatient:
    id: int
    given_name: str
    family_name: str
    phone: str
    created_at: datetime
    opted_out_at: datetime | None
    child: bool


@dataclass(slots=True)
class Visit:
    """One appointment and the times of what happened to it."""

    id: int
    doctor: PlannedDoctor
    patient: PlannedPatient
    service: PlannedService
    starts_at: datetime
    ends_at: datetime
    status: str
    created_at: datetime
    created_by: int | None
    reason: str
    confirmed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancelled_by: int | None = None
    cancellation_reason: str = ""
    arrived_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    no_show_at: datetime | None = None
    session_id: int | None = None
    performed: list[tuple[PlannedService, Decimal]] = field(default_factory=list)

    @property
    def updated_at(self) -> datetime:
        return (
            self.completed_at
            or self.cancelled_at
            or self.no_show_at
            or self.confirmed_at
            or self.created_at
        )


@dataclass
class Context:
    seed: int
    now: datetime
    first_day: date
    until: date
    grid: timedelta
    area_codes: list[str] = field(default_factory=list)
    services: dict[str, PlannedService] = field(default_factory=dict)
    doctors: list[PlannedDoctor] = field(default_factory=list)
    reception_ids: list[int] = field(default_factory=list)
    manager_id: int | None = None
    patients: list[PlannedPatient] = field(default_factory=list)
    patient_joined: list[datetime] = field(default_factory=list)  # ascending
    patient_weights: list[float] = field(default_factory=list)  # cumulative
    visits: list[Visit] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def rng(self, step: str) -> random.Random:
        """A random stream of its own for each step, so a change to one step's draws
        leaves every other step's data as it was."""
        return random.Random(f"clinic-load:{self.seed}:{step}")

    @property
    def days(self) -> Iterator[date]:
        day = self.first_day
        while day <= self.until:
            yield day
            day += timedelta(days=1)

    @property
    def today(self) -> date:
        return self.now.astimezone(clinic_zone()).date()


def _at(day: date, clock: time) -> datetime:
    """A wall-clock time of the clinic on `day`, in UTC."""
    return datetime.combine(day, clock, tzinfo=clinic_zone()).astimezone(UTC)


def _between(rng: random.Random, earliest: datetime, latest: datetime) -> datetime:
    """A whole second in [earliest, latest] (earliest when the range is empty)."""
    span = int((latest - earliest).total_seconds())
    return earliest + timedelta(seconds=rng.randint(0, span)) if span > 0 else earliest


def _office_time(rng: random.Random, day: date) -> datetime:
    """A moment of `day` in office hours (08:00-18:00 clinic time)."""
    return _at(day, time(8)) + timedelta(minutes=rng.randrange(600), seconds=rng.randrange(60))


# --- Entry point ---------------------------------------------------------------------


def generate(
    *,
    doctors: int = 20,
    years: float = 5,
    seed: int = 1,
    until: date | None = None,
    patients: int | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Fill an empty database with a clinic of `doctors` doctors over `years` years
    ending on `until` (default: 30 days from today, so there is a future too), and
    return how many rows of each kind it wrote.

    Refuses (NotEmpty) when the database already has patients or appointments. The
    same arguments and `now` (default: the current time) give the same data."""
    if doctors < 1 or years <= 0:
        raise ValueError("Give at least one doctor and a positive number of years.")
    now = (now or timezone.now()).astimezone(UTC).replace(microsecond=0)
    until = until or now.astimezone(clinic_zone()).date() + timedelta(days=30)
    first_day = until - timedelta(days=max(1, round(years * 365.25)) - 1)
    patients = patients if patients is not None else PATIENTS_PER_DOCTOR * doctors
    if patients < 1:
        raise ValueError("Give at least one patient.")
    progress = progress or (lambda step, done, total: None)
    ctx = Context(
        seed=seed,
        now=now,
        first_day=first_day,
        until=until,
        grid=timedelta(minutes=settings.SCHEDULING_SLOT_MINUTES),
        area_codes=_fictional_area_codes(),
    )
    with transaction.atomic(), _given_timestamps(), _foreign_keys_checked_at_once():
        _refuse_unless_empty()
        _make_staff(ctx, doctors, progress)
        _make_patients(ctx, patients, progress)
        _plan_visits(ctx, progress)
        _write_appointments(ctx, progress)
        _write_sessions(ctx, progress)
        _write_invoices(ctx, progress)
        _write_notifications(ctx, progress)
        _reset_sequences()
    _analyze(progress)
    return {name: ctx.counts[name] for name in sorted(ctx.counts)}


def _refuse_unless_empty() -> None:
    found = {
        "patients": Patient.objects.count(),
        "appointments": Appointment.objects.count(),
        f"logins named {USERNAME_PREFIX}*": User.objects.filter(
            username__startswith=USERNAME_PREFIX
        ).count(),
    }
    if any(found.values()):
        held = ", ".join(f"{count} {what}" for what, count in found.items() if count)
        raise NotEmpty(
            f"The database already holds a clinic ({held}). Load data goes into an empty "
            "database only: create a new one and run `manage.py migrate` first."
        )


# Their timestamps are set by the generator (a visit booked two years ago was created
# two years ago), so auto_now and auto_now_add must not overwrite them on the way in.
TIMESTAMPED = (Patient, MedicalRecord, Appointment, Session, Payment, Refund, Notification)


@contextmanager
def _given_timestamps() -> Iterator[None]:
    fields = [
        model_field
        for model in TIMESTAMPED
        for model_field in model._meta.concrete_fields
        if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False)
    ]
    saved = [
        (model_field, model_field.auto_now, model_field.auto_now_add) for model_field in fields
    ]
    for model_field in fields:
        model_field.auto_now = model_field.auto_now_add = False
    try:
        yield
    finally:
        for model_field, auto_now, auto_now_add in saved:
            model_field.auto_now, model_field.auto_now_add = auto_now, auto_now_add


@contextmanager
def _foreign_keys_checked_at_once() -> Iterator[None]:
    """On PostgreSQL, check each foreign key as its row goes in (parents are written
    first) rather than queue millions of deferred checks for the commit; then back
    to Django's default (all its foreign keys are DEFERRABLE INITIALLY DEFERRED) for
    the rest of an enclosing transaction, such as a test's."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    yield  # after an error the transaction is rolled back anyway: nothing to restore
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


class Writer:
    """Buffers new rows per model and writes them with bulk_create in batches,
    parents before children (the order in which their models first appeared)."""

    def __init__(self, ctx: Context, batch_size: int = BATCH_SIZE) -> None:
        self.ctx = ctx
        self.batch_size = batch_size
        self.buffers: dict[type[models.Model], list[models.Model]] = {}
        self.pending = 0

    def add(self, row: models.Model) -> None:
        self.buffers.setdefault(type(row), []).append(row)
        self.pending += 1
        if self.pending >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        for model, rows in self.buffers.items():
            if rows:
                model.objects.bulk_create(rows, batch_size=self.batch_size)
                self.ctx.counts[model._meta.verbose_name_plural] += len(rows)
                rows.clear()
        self.pending = 0


def _next_id(model: type[models.Model]) -> int:
    """The first id to give new rows of `model` (ids are set by the generator, so
    children can point at parents without reading ids back)."""
    return (model.objects.aggregate(top=models.Max("pk"))["top"] or 0) + 1


EXPLICIT_IDS = (Patient, Appointment, Session, Prescription, Invoice, Payment)


def _reset_sequences() -> None:
    """Move PostgreSQL's id sequences past the ids the generator gave."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(EXPLICIT_IDS))
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def _analyze(progress: Progress) -> None:
    """Fresh planner statistics and visibility maps, so the first queries after a
    load (a benchmark) see the same plans as a clinic that grew over the years.
    Skipped inside a transaction (tests), where VACUUM cannot run."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    tables = [
        model._meta.db_table
        for model in (
            Patient, MedicalRecord, Appointment, AppointmentChange, Session, PerformedService,
            ClinicalNote, Prescription, PrescriptionItem, Invoice, InvoiceLine, Payment,
            Refund, Notification, TimeOff, WorkingHours, Doctor,
        )
    ]  # fmt: skip
    with connection.cursor() as cursor:
        for done, table in enumerate(tables, 1):
            cursor.execute(f'VACUUM (ANALYZE) "{table}"')
            progress("vacuum analyze", done, len(tables))


# --- Staff, catalogue, timetables -------------------------------------------------------


def _make_staff(ctx: Context, doctors: int, progress: Progress) -> None:
    rng = ctx.rng("staff")
    joined = _at(ctx.first_day, time(8))
    for code, (name, minutes, price) in SERVICES.items():
        service, _ = Service.objects.get_or_create(
            code=code,
            defaults={"name": name, "duration_minutes": minutes, "price": Decimal(price)},
        )
        steps = math.ceil(service.duration_minutes * 60 / ctx.grid.total_seconds())
        ctx.services[code] = PlannedService(service, steps)
    groups = {role: Group.objects.get_or_create(name=role)[0] for role in (RECEPTION, MANAGERS)}
    for number in range(1, 5):
        user = _staff_user(
            f"{USERNAME_PREFIX}reception{number}", rng, groups[RECEPTION], joined=joined
        )
        ctx.reception_ids.append(user.pk)
    ctx.manager_id = _staff_user(
        f"{USERNAME_PREFIX}manager", rng, groups[MANAGERS], joined=joined, is_staff=True
    ).pk
    doctors_group = Group.objects.get_or_create(name=DOCTORS)[0]
    family_names = rng.sample(FAMILY, len(FAMILY))
    timetable_weights = [weight for weight, _ in TIMETABLES]
    for number in range(1, doctors + 1):
        female = rng.random() < 0.5
        given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
        family = family_names[(number - 1) % len(family_names)]
        if number > len(family_names):
            family = f"{family}-{rng.choice(FAMILY)}"
        user = _staff_user(
            f"{USERNAME_PREFIX}dr{number:02d}",
            rng,
            doctors_group,
            joined=joined,
            names=(given, family),
        )
        specialty_name = SPECIALTY_CYCLE[(number - 1) % len(SPECIALTY_CYCLE)]
        doctor = Doctor.objects.create(
            user=user,
            given_name=given,
            family_name=family,
            specialty=Specialty.objects.get_or_create(name=specialty_name)[0],
            # From the end of the fictional numbers; patients take them from the start.
            phone=f"+1{ctx.area_codes[-1 - number // 100]}55501{number % 100:02d}",
            email=f"{user.username}@clinic.example",
        )
        (_, hours), *_ = rng.choices(TIMETABLES, weights=timetable_weights)
        hours = dict(hours)
        if rng.random() < 0.2 and 5 not in hours:
            hours[5] = SATURDAY_MORNINGS
        WorkingHours.objects.bulk_create(
            WorkingHours(doctor=doctor, weekday=weekday, starts=starts, ends=ends)
            for weekday, ranges in sorted(hours.items())
            for starts, ends in ranges
        )
        planned = PlannedDoctor(doctor, user.pk, user.username, PROFILES[specialty_name], hours)
        _plan_services(ctx, planned)
        _plan_time_off(ctx, planned, rng)
        ctx.doctors.append(planned)
        progress("doctors", number, doctors)
    ctx.counts["doctors"] = doctors
    ctx.counts["staff logins"] = doctors + len(ctx.reception_ids) + 1
    ctx.counts["working hours"] = WorkingHours.objects.filter(
        doctor__in=[planned.model for planned in ctx.doctors]
    ).count()
    ctx.counts["time off"] = TimeOff.objects.filter(
        doctor__in=[planned.model for planned in ctx.doctors]
    ).count()


def _staff_user(
    username: str,
    rng: random.Random,
    group: Group,
    *,
    joined: datetime,
    names: tuple[str, str] | None = None,
    is_staff: bool = False,
) -> User:
    first, last = names or (rng.choice(GIVEN_FEMALE + GIVEN_MALE), rng.choice(FAMILY))
    user = User.objects.create(
        username=username,
        first_name=first,
        last_name=last,
        email=f"{username}@clinic.example",
        password=PASSWORD,
        is_staff=is_staff,
        date_joined=joined,
    )
    user.groups.add(group)
    return user


def _plan_services(ctx: Context, doctor: PlannedDoctor) -> None:
    total = 0
    for code, weight in doctor.profile.visits:
        total += weight
        doctor.visits.append((ctx.services[code], total))
    doctor.extras = [ctx.services[code] for code in doctor.profile.extras]


def _plan_time_off(ctx: Context, doctor: PlannedDoctor, rng: random.Random) -> None:
    """Two weeks of leave a year, a conference now and then, and public holidays;
    written as TimeOff rows and kept as days without appointments."""
    periods: list[tuple[date, date, str]] = []  # [first, last] days
    for year in range(ctx.first_day.year, ctx.until.year + 1):
        for week in rng.sample(range(2, 51), 2):
            monday = date.fromisocalendar(year, week, 1)
            periods.append((monday, monday + timedelta(days=6), "Annual leave"))
        if rng.random() < 0.5:
            day = date(year, rng.randint(2, 11), rng.randint(1, 28))
            periods.append((day, day + timedelta(days=1), "Conference"))
        for month, day_of_month, name in HOLIDAYS:
            day = date(year, month, day_of_month)
            periods.append((day, day, name))
    rows = []
    for first, last, reason in sorted(periods):
        if last < ctx.first_day or first > ctx.until:
            continue
        rows.append(
            TimeOff(
                doctor=doctor.model,
                starts_at=_at(first, time(0)),
                ends_at=_at(last + timedelta(days=1), time(0)),
                reason=reason,
            )
        )
        day = first
        while day <= last:
            doctor.days_off.add(day)
            day += timedelta(days=1)
    TimeOff.objects.bulk_create(rows)


# --- Patients ------------------------------------------------------------------------


def _fictional_area_codes() -> list[str]:
    """US area codes in which 555-0100..0199 (numbers reserved for fiction) are
    valid: a generated patient's phone never reaches a real person."""
    import phonenumbers

    return [
        str(code)
        for code in range(201, 990)
        if phonenumbers.is_valid_number(phonenumbers.parse(f"+1{code}5550150"))
    ]


def _make_patients(ctx: Context, count: int, progress: Progress) -> None:
    """Patients registered over the years: a third before the first day, the rest
    joining steadily until now; each has a usual doctor and a visit frequency."""
    rng = ctx.rng("patients")
    area_codes = ctx.area_codes
    first = _at(ctx.first_day, time(0))
    span = max(ctx.now - first, timedelta(days=1))
    joined = sorted(
        min(ctx.now, _office_time(rng, moment.astimezone(clinic_zone()).date()))
        for moment in (
            first - timedelta(days=3 * 365) * rng.random()
            if rng.random() < 0.35
            else first + span * rng.random()
            for _ in range(count)
        )
    )
    next_id = _next_id(Patient)
    writer = Writer(ctx)
    doctor_weights = [sum(len(ranges) for ranges in d.hours.values()) for d in ctx.doctors]
    paediatric = [doctor for doctor in ctx.doctors if doctor.profile.children]
    cumulative = 0.0
    for index, created_at in enumerate(joined):
        r = rng.random()
        sex = (
            Sex.FEMALE if r < 0.52 else Sex.MALE if r < 0.98 else Sex.OTHER if r < 0.985
            else Sex.UNKNOWN
        )  # fmt: skip
        given = rng.choice(GIVEN_FEMALE if sex == Sex.FEMALE else GIVEN_MALE)
        if sex in (Sex.OTHER, Sex.UNKNOWN):
            given = rng.choice(GIVEN_FEMALE + GIVEN_MALE)
        family = rng.choice(FAMILY)
        age_years = _age(rng)
        born = created_at.date() - timedelta(days=int(age_years * 365.25) + rng.randrange(365))
        born = min(born, created_at.date())
        phone = f"+1{area_codes[(index // 100) % len(area_codes)]}55501{index % 100:02d}"
        opted_out_at = None
        if rng.random() < 0.03:
            opted_out_at = _between(rng, created_at, ctx.now)
        patient = PlannedPatient(
            id=next_id + index,
            given_name=given,
            family_name=family,
            phone=phone,
            created_at=created_at,
            opted_out_at=opted_out_at,
            child=age_years < 16,
        )
        ctx.patients.append(patient)
        ctx.patient_joined.append(created_at)
        # How often they come: most now and then, a few (chronic care) very often.
        weight = min(8.0, rng.paretovariate(1.3))
        cumulative += weight
        ctx.patient_weights.append(cumulative)
        # The usual doctor: a paediatrician for most children, anyone for adults.
        doctor = (
            rng.choice(paediatric)
            if patient.child and paediatric and rng.random() < 0.8
            else rng.choices(ctx.doctors, weights=doctor_weights)[0]
        )
        doctor.panel.append(index)
        doctor.panel_weights.append((doctor.panel_weights or [0.0])[-1] + weight)
        writer.add(
            Patient(
                id=patient.id,
                given_name=given,
                family_name=family,
                date_of_birth=born,
                sex=sex,
                phone=phone,
                email=(
                    f"{given}.{family}{index}@example.com".lower().replace("'", "")
                    if rng.random() < 0.55
                    else ""
                ),
                address=(
                    f"{rng.randint(1, 9999)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}, "
                    f"{rng.choice(CITIES)}"
                    if rng.random() < 0.6
                    else ""
                ),
                national_id=f"NID-{100000 + index}" if rng.random() < 0.7 else "",
                sms_opted_out_at=opted_out_at,
                created_at=created_at,
                updated_at=opted_out_at or created_at,
            )
        )
        if rng.random() < 0.6:
            writer.add(
                MedicalRecord(
                    patient_id=patient.id,
                    allergies=rng.choice(ALLERGIES),
                    chronic_conditions="" if patient.child else rng.choice(CONDITIONS),
                    blood_type=rng.choice(BloodType.values),
                    updated_at=created_at,
                    updated_by_id=doctor.user_id,
                )
            )
        if (index + 1) % BATCH_SIZE == 0 or index + 1 == count:
            progress("patients", index + 1, count)
    writer.flush()


def _age(rng: random.Random) -> float:
    r = rng.random()
    if r < 0.2:
        return rng.uniform(0, 16)
    if r < 0.5:
        return rng.uniform(16, 40)
    if r < 0.82:
        return rng.uniform(40, 65)
    return rng.uniform(65, 95)


# --- The calendar ----------------------------------------------------------------------


def _fill_rate(ctx: Context) -> float:
    """The chance that a free slot starts an appointment, chosen so that the clinic
    books about APPOINTMENTS_PER_DOCTOR_YEAR per doctor and year: each appointment
    uses its service's steps, each skipped slot one step."""
    slots = 0
    for doctor in ctx.doctors:
        for day in ctx.days:
            if day in doctor.days_off:
                continue
            for starts, ends in doctor.hours.get(day.weekday(), ()):
                minutes = (ends.hour * 60 + ends.minute) - (starts.hour * 60 + starts.minute)
                slots += minutes * 60 // int(ctx.grid.total_seconds())
    years = ((ctx.until - ctx.first_day).days + 1) / 365.25
    target = APPOINTMENTS_PER_DOCTOR_YEAR * len(ctx.doctors) * years
    steps = [
        (service.steps, weight)
        for doctor in ctx.doctors
        for (service, _), (_, weight) in zip(doctor.visits, doctor.profile.visits, strict=True)
    ]
    mean_steps = sum(s * w for s, w in steps) / sum(w for _, w in steps)
    skipped_per_visit = slots / max(target, 1) - mean_steps
    return 1.0 if skipped_per_visit <= 0 else 1 / (1 + skipped_per_visit)


def _plan_visits(ctx: Context, progress: Progress) -> None:
    """Walk each doctor's working windows day by day on the slot grid, starting an
    appointment at a slot with the fill rate's chance, so a doctor's appointments
    never overlap; a patient has at most one appointment a day, so theirs never do."""
    rng = ctx.rng("visits")
    fill = _fill_rate(ctx)
    next_id = _next_id(Appointment)
    days = list(ctx.days)
    for number, day in enumerate(days, 1):
        used: set[int] = set()
        ahead = (day - ctx.today).days
        # Bookings thin out further ahead: the future is not booked yet.
        day_fill = fill if ahead <= 0 else fill * max(0.2, 1 - ahead / 40)
        # Patients registered before the day can be booked on it.
        eligible = bisect_right(ctx.patient_joined, min(_at(day, time(0)), ctx.now))
        for doctor in ctx.doctors:
            if day in doctor.days_off:
                continue
            for starts, ends in doctor.hours.get(day.weekday(), ()):
                window_starts, window_ends = _at(day, starts), _at(day, ends)
                slot = window_starts
                while slot < window_ends:
                    if rng.random() >= day_fill:
                        slot += ctx.grid
                        continue
                    service = _pick_service(rng, doctor)
                    slot_ends = slot + timedelta(minutes=service.minutes)
                    if slot_ends > window_ends:
                        slot += ctx.grid
                        continue
                    if not slot < ctx.now < slot_ends:  # none in progress right now
                        next_id = _book(
                            ctx, rng, doctor, service, slot, slot_ends, eligible, used, next_id
                        )
                    slot += ctx.grid * service.steps
        progress("calendar days", number, len(days))


def _pick_service(rng: random.Random, doctor: PlannedDoctor) -> PlannedService:
    r = rng.random() * doctor.visits[-1][1]
    for service, cumulative in doctor.visits:
        if r < cumulative:
            return service
    return doctor.visits[-1][0]


def _pick_patient(
    ctx: Context, rng: random.Random, doctor: PlannedDoctor, eligible: int, used: set[int]
) -> PlannedPatient | None:
    """A patient registered by then, not yet seen that day: usually one of the
    doctor's own, the frequent visitors more often."""
    for _ in range(20):
        if rng.random() < 0.75:
            known = bisect_left(doctor.panel, eligible)
            if not known:
                continue
            r = rng.random() * doctor.panel_weights[known - 1]
            index = doctor.panel[bisect_right(doctor.panel_weights, r, 0, known - 1)]
        else:
            if not eligible:
                return None
            r = rng.random() * ctx.patient_weights[eligible - 1]
            index = bisect_right(ctx.patient_weights, r, 0, eligible - 1)
        if index not in used:
            used.add(index)
            return ctx.patients[index]
    return None


def _book(
    ctx: Context,
    rng: random.Random,
    doctor: PlannedDoctor,
    service: PlannedService,
    starts_at: datetime,
    ends_at: datetime,
    eligible: int,
    used: set[int],
    next_id: int,
    *,
    replacing: Visit | None = None,
) -> int:
    """Plan one appointment (and, for some cancellations, the one that took its
    place); returns the next free id."""
    patient = _pick_patient(ctx, rng, doctor, eligible, used)
    if patient is None:
        return next_id
    if replacing is not None:
        created_at = _between(rng, replacing.cancelled_at, starts_at - timedelta(minutes=30))
    else:
        created_at = _booked_at(ctx, rng, starts_at)
    created_at = max(created_at, patient.created_at)
    visit = Visit(
        id=next_id,
        doctor=doctor,
        patient=patient,
        service=service,
        starts_at=starts_at,
        ends_at=ends_at,
        status=Status.BOOKED,
        created_at=created_at,
        created_by=rng.choice(ctx.reception_ids) if rng.random() < 0.85 else None,
        reason=rng.choice(doctor.profile.reasons) if rng.random() < 0.8 else "",
    )
    ctx.visits.append(visit)
    next_id += 1
    if starts_at >= ctx.now:
        _future(ctx, rng, visit)
        return next_id
    r = rng.random()
    if replacing is None and r > 0.89:
        _cancelled(ctx, rng, visit)
        if rng.random() < 0.35 and starts_at - visit.cancelled_at > timedelta(hours=2):
            next_id = _book(
                ctx, rng, doctor, service, starts_at, ends_at, eligible, used, next_id,
                replacing=visit,
            )  # fmt: skip
    elif r > 0.84:
        _no_show(ctx, rng, visit)
    else:
        _completed(ctx, rng, visit)
    return next_id


def _booked_at(ctx: Context, rng: random.Random, starts_at: datetime) -> datetime:
    """When the appointment was made: same or next day for some, within two weeks for
    most, up to two months ahead for the rest; never after now."""
    r = rng.random()
    lead_days = (
        rng.randint(0, 1) if r < 0.2 else rng.randint(2, 14) if r < 0.7 else rng.randint(15, 60)
    )
    day = starts_at.astimezone(clinic_zone()).date() - timedelta(days=lead_days)
    booked = _office_time(rng, day)
    latest = min(starts_at - timedelta(minutes=30), ctx.now - timedelta(minutes=1))
    if booked > ctx.now:  # booked in the last two weeks, not in the future
        day = ctx.today - timedelta(days=rng.randint(0, 14))
        booked = _office_time(rng, day)
        if booked > latest:
            booked = _office_time(rng, day - timedelta(days=1))
    if booked > latest:  # on the day: shortly before
        booked = _between(rng, latest - timedelta(hours=3), latest)
    return booked


def _confirm_time(rng: random.Random, visit: Visit, latest: datetime) -> datetime:
    """When the patient confirmed: at the desk or by SMS, mostly in the daytime."""
    latest = max(visit.created_at, latest)
    confirmed = _between(rng, visit.created_at, latest)
    if not time(8) <= confirmed.astimezone(clinic_zone()).time() < time(20):
        daytime = _office_time(rng, confirmed.astimezone(clinic_zone()).date())
        if visit.created_at <= daytime <= latest:
            confirmed = daytime
    return confirmed


def _future(ctx: Context, rng: random.Random, visit: Visit) -> None:
    days_ahead = (visit.starts_at - ctx.now) / timedelta(days=1)
    confirmed = rng.random() < (0.8 if days_ahead < 2 else 0.55 if days_ahead < 7 else 0.25)
    if confirmed:
        visit.status = Status.CONFIRMED
        visit.confirmed_at = _confirm_time(rng, visit, ctx.now - timedelta(seconds=1))


def _cancelled(ctx: Context, rng: random.Random, visit: Visit) -> None:
    visit.status = Status.CANCELLED
    latest = visit.starts_at - timedelta(minutes=15)
    visit.cancelled_at = _between(rng, visit.created_at, max(visit.created_at, latest))
    if rng.random() < 0.5:
        visit.confirmed_at = _confirm_time(rng, visit, visit.cancelled_at)
    visit.cancelled_by = rng.choice(ctx.reception_ids)
    visit.cancellation_reason = rng.choice(CANCELLATION_REASONS)


def _no_show(ctx: Context, rng: random.Random, visit: Visit) -> None:
    visit.status = Status.NO_SHOW
    visit.confirmed_at = _confirm_time(rng, visit, visit.starts_at - timedelta(minutes=20))
    marked = visit.starts_at + timedelta(minutes=rng.randint(15, 90))
    visit.no_show_at = min(marked, ctx.now)


def _completed(ctx: Context, rng: random.Random, visit: Visit) -> None:
    """Confirmed, arrived, seen: the session runs inside the appointment's time, so
    a doctor never had two sessions in progress at once."""
    visit.status = Status.COMPLETED
    visit.confirmed_at = _confirm_time(rng, visit, visit.starts_at - timedelta(minutes=20))
    visit.arrived_at = max(
        visit.confirmed_at, visit.starts_at - timedelta(seconds=rng.randint(0, 20 * 60))
    )
    length = visit.ends_at - visit.starts_at
    late = timedelta(seconds=rng.randint(0, int(length.total_seconds() // 6)))
    visit.started_at = visit.starts_at + late
    took = (visit.ends_at - visit.started_at) * rng.uniform(0.6, 1)
    visit.completed_at = (visit.started_at + took).replace(microsecond=0)


# --- Appointments and their history ----------------------------------------------------


def _write_appointments(ctx: Context, progress: Progress) -> None:
    writer = Writer(ctx)
    total = len(ctx.visits)
    for number, visit in enumerate(ctx.visits, 1):
        writer.add(
            Appointment(
                id=visit.id,
                doctor_id=visit.doctor.model.pk,
                patient_id=visit.patient.id,
                service_id=visit.service.model.pk,
                starts_at=visit.starts_at,
                ends_at=visit.ends_at,
                status=visit.status,
                reason=visit.reason,
                cancellation_reason=visit.cancellation_reason,
                arrived_at=visit.arrived_at,
                created_by_id=visit.created_by,
                created_at=visit.created_at,
                updated_at=visit.updated_at,
            )
        )
        for change in _history(visit):
            writer.add(change)
        if number % BATCH_SIZE == 0 or number == total:
            progress("appointments", number, total)
    writer.flush()


def _history(visit: Visit) -> list[AppointmentChange]:
    """The booking and the change that decided the appointment's fate: enough history
    for the pages, without the five rows a completed visit really has."""
    times = {"to_starts_at": visit.starts_at, "to_ends_at": visit.ends_at}
    changes = [
        AppointmentChange(
            appointment_id=visit.id,
            action=AppointmentChange.Action.BOOKED,
            changed_by_id=visit.created_by,
            changed_at=visit.created_at,
            from_status="",
            to_status=Status.BOOKED,
            **times,
        )
    ]
    last = {
        Status.CONFIRMED: (
            AppointmentChange.Action.CONFIRMED, Status.BOOKED, visit.confirmed_at,
            visit.created_by, "",
        ),
        Status.COMPLETED: (
            AppointmentChange.Action.COMPLETED, Status.IN_SESSION, visit.completed_at,
            visit.doctor.user_id, "",
        ),
        Status.NO_SHOW: (
            AppointmentChange.Action.NO_SHOW, Status.CONFIRMED, visit.no_show_at,
            visit.created_by, "",
        ),
        Status.CANCELLED: (
            AppointmentChange.Action.CANCELLED,
            Status.CONFIRMED if visit.confirmed_at else Status.BOOKED,
            visit.cancelled_at, visit.cancelled_by, visit.cancellation_reason,
        ),
    }.get(visit.status)  # fmt: skip
    if last:
        action, from_status, changed_at, by, note = last
        changes.append(
            AppointmentChange(
                appointment_id=visit.id,
                action=action,
                changed_by_id=by,
                changed_at=changed_at,
                from_status=from_status,
                to_status=visit.status,
                note=note,
                **times,
            )
        )
    return changes


# --- Sessions and clinical records -------------------------------------------------------


def _price_on(service: PlannedService, day: date, until: date, cache: dict) -> Decimal:
    """The service's price in the year of `day`: today's, less the yearly rises since."""
    key = (service.model.pk, day.year)
    if key not in cache:
        price = service.model.price / YEARLY_PRICE_RISE ** max(0, until.year - day.year)
        cache[key] = price.quantize(Decimal("1")).quantize(Decimal("0.01"))
    return cache[key]


def _write_sessions(ctx: Context, progress: Progress) -> None:
    rng = ctx.rng("sessions")
    writer = Writer(ctx)
    prices: dict = {}
    next_session = _next_id(Session)
    next_prescription = _next_id(Prescription)
    completed = [visit for visit in ctx.visits if visit.status == Status.COMPLETED]
    for number, visit in enumerate(completed, 1):
        visit.session_id = next_session
        next_session += 1
        doctor_user = visit.doctor.user_id
        writer.add(
            Session(
                id=visit.session_id,
                appointment_id=visit.id,
                doctor_id=visit.doctor.model.pk,
                patient_id=visit.patient.id,
                status=SessionStatus.COMPLETED,
                created_at=visit.started_at,
                started_at=visit.started_at,
                completed_at=visit.completed_at,
                created_by_id=doctor_user,
                completed_by_id=doctor_user,
            )
        )
        day = visit.starts_at.astimezone(clinic_zone()).date()
        performed = [visit.service]
        extras = [extra for extra in visit.doctor.extras if extra is not visit.service]
        if extras and rng.random() < 0.12:
            performed.append(rng.choice(extras))
        for service in performed:
            price = _price_on(service, day, ctx.until, prices)
            visit.performed.append((service, price))
            writer.add(
                PerformedService(
                    session_id=visit.session_id,
                    service_id=service.model.pk,
                    quantity=1,
                    unit_price=price,
                )
            )
        writer.add(_note(rng, visit))
        if rng.random() < visit.doctor.profile.prescribes:
            writer.add(
                Prescription(
                    id=next_prescription,
                    session_id=visit.session_id,
                    created_by_id=doctor_user,
                    created_at=visit.completed_at - timedelta(minutes=2),
                    updated_at=visit.completed_at - timedelta(minutes=2),
                    signed_at=visit.completed_at,
                    signed_by_id=doctor_user,
                )
            )
            items = 1 if rng.random() < 0.7 else 2 if rng.random() < 0.75 else 3
            for medication in rng.sample(MEDICATIONS, items):
                name, strength, dose, route, frequency, duration, quantity, instructions = (
                    medication
                )
                writer.add(
                    PrescriptionItem(
                        prescription_id=next_prescription,
                        medication=name,
                        strength=strength,
                        dose=dose,
                        route=route,
                        frequency=frequency,
                        duration=duration,
                        quantity=quantity,
                        instructions=instructions,
                    )
                )
            next_prescription += 1
        if number % BATCH_SIZE == 0 or number == len(completed):
            progress("sessions", number, len(completed))
    writer.flush()


def _note(rng: random.Random, visit: Visit) -> ClinicalNote:
    """A short SOAP note with vitals, signed when the session completed."""
    profile = visit.doctor.profile
    child = visit.patient.child
    systolic = rng.randint(95, 165) if not child and rng.random() < 0.85 else None
    diastolic = rng.randint(55, min(105, systolic - 20)) if systolic else None
    pulse = rng.randint(55, 100) if rng.random() < 0.8 else None
    temperature = Decimal(rng.randint(361, 385)) / 10 if rng.random() < 0.4 else None
    weight = (
        Decimal(rng.randint(40, 450) if child else rng.randint(450, 1300)) / 10
        if rng.random() < 0.6
        else None
    )
    findings = [
        "Alert and well." if rng.random() < 0.6 else "Looks unwell but comfortable.",
        rng.choice(("Chest clear.", "Abdomen soft, non-tender.", "No lymphadenopathy.",
                    "Full range of movement.", "Skin otherwise normal.")),
    ]  # fmt: skip
    return ClinicalNote(
        session_id=visit.session_id,
        subjective=f"{visit.reason or rng.choice(profile.reasons)}. {rng.choice(ONSETS)}",
        objective=" ".join(findings),
        assessment=rng.choice(profile.assessments),
        plan=rng.choice(profile.plans),
        bp_systolic=systolic,
        bp_diastolic=diastolic,
        pulse=pulse,
        temperature_c=temperature,
        weight_kg=weight,
        author_id=visit.doctor.user_id,
        created_at=visit.started_at,
        updated_at=visit.completed_at,
        signed_at=visit.completed_at,
        signed_by_id=visit.doctor.user_id,
    )


# --- Invoices and payments --------------------------------------------------------------


METHODS = (("cash", 25), ("card_terminal", 55), ("stripe", 20))
ZERO = Decimal("0.00")
ONE = Decimal("1")
CENT = Decimal("0.01")


def _write_invoices(ctx: Context, progress: Progress) -> None:
    """One invoice per completed session, numbered 1..N in the order they were
    issued, with a line per performed service, its payments and refunds; totals and
    status as `refresh_totals` derives them."""
    rng = ctx.rng("invoices")
    writer = Writer(ctx)
    completed = sorted(
        (visit for visit in ctx.visits if visit.status == Status.COMPLETED),
        key=lambda visit: (visit.completed_at, visit.id),
    )
    next_invoice = _next_id(Invoice)
    payment_ids = count(_next_id(Payment))
    for number, visit in enumerate(completed, 1):
        invoice = Invoice(
            id=next_invoice + number - 1,
            number=number,
            session_id=visit.session_id,
            patient_id=visit.patient.id,
            currency=settings.CLINIC_CURRENCY,
            issued_at=visit.completed_at,
            total=sum((price for _, price in visit.performed), ZERO),
        )
        payments, refunds = _settle(ctx, rng, invoice, payment_ids)
        succeeded = [p.amount for p in payments if p.status == PaymentStatus.SUCCEEDED]
        invoice.amount_paid = sum(succeeded, ZERO)
        invoice.amount_refunded = sum((refund.amount for refund in refunds), ZERO)
        invoice.status = invoice.derived_status()
        writer.add(invoice)
        for service, price in visit.performed:
            writer.add(
                InvoiceLine(
                    invoice_id=invoice.id,
                    service_id=service.model.pk,
                    description=service.model.name,
                    quantity=1,
                    unit_price=price,
                )
            )
        for row in (*payments, *refunds):
            writer.add(row)
        if number % BATCH_SIZE == 0 or number == len(completed):
            progress("invoices", number, len(completed))
    writer.flush()
    InvoiceCounter.objects.update_or_create(pk=1, defaults={"last_number": len(completed)})
    ctx.counts["invoice counter (last number)"] = len(completed)


def _settle(
    ctx: Context, rng: random.Random, invoice: Invoice, payment_ids: Iterator[int]
) -> tuple[list[Payment], list[Refund]]:
    """What happened to an invoice: most are paid at the desk or online on the day;
    some later in two goes, some in part, some not yet (more of the recent ones), a
    few refunded or void."""
    payments: list[Payment] = []
    refunds: list[Refund] = []
    total, issued_at = invoice.total, invoice.issued_at

    def pay(amount: Decimal, at: datetime, method: str) -> Payment:
        payment = _payment(ctx, rng, invoice.id, next(payment_ids), amount, at, method)
        payments.append(payment)
        return payment

    age = ctx.now - issued_at
    r = rng.random()
    if r < 0.003 and age > timedelta(days=3):
        invoice.voided_at = _between(rng, issued_at, issued_at + timedelta(days=3))
        invoice.voided_by_id = ctx.manager_id
        invoice.void_reason = rng.choice(VOID_REASONS)
        return payments, refunds
    if r < 0.04 or (age < timedelta(days=14) and r < 0.25):
        return payments, refunds  # not paid yet
    methods, weights = zip(*METHODS, strict=True)
    method = rng.choices(methods, weights=weights)[0]
    paid_at = issued_at + timedelta(seconds=rng.randint(60, 15 * 60))
    if method == "stripe" and rng.random() < 0.05:
        _expire(pay(total, paid_at, "stripe"))  # a first link left unpaid
        paid_at += timedelta(hours=rng.randint(1, 48))
    later = paid_at + timedelta(days=rng.randint(1, 30))
    part = max(ONE, (total * Decimal(rng.uniform(0.3, 0.7))).quantize(ONE))
    if r < 0.07 and total > part:  # paid in part, the rest still open
        pay(part, paid_at, method)
    elif r < 0.11 and total > part and later < ctx.now:  # in two goes
        pay(part, paid_at, method)
        pay(total - part, later, rng.choice(methods))
    else:
        payment = pay(total, paid_at, method)
        if rng.random() < 0.01 and later < ctx.now:
            refunds.append(
                Refund(
                    payment_id=payment.id,
                    amount=total if rng.random() < 0.4 else (total / 2).quantize(CENT),
                    reason=rng.choice(REFUND_REASONS),
                    provider_refund_id=f"re_load{payment.id:020d}" if method == "stripe" else "",
                    created_at=later,
                    created_by_id=ctx.manager_id,
                )
            )
    return payments, refunds


def _expire(payment: Payment) -> None:
    payment.status = PaymentStatus.EXPIRED
    payment.settled_at = None
    payment.payment_intent_id = ""
    payment.last_error = "The checkout expired before it was paid."


def _payment(
    ctx: Context,
    rng: random.Random,
    invoice_id: int,
    payment_id: int,
    amount: Decimal,
    at: datetime,
    method: str,
) -> Payment:
    payment = Payment(
        id=payment_id,
        invoice_id=invoice_id,
        method=method,
        amount=amount,
        status=PaymentStatus.SUCCEEDED,
        created_at=at,
        created_by_id=rng.choice(ctx.reception_ids),
    )
    if method == "stripe":
        payment.idempotency_key = f"checkout-load-{payment_id}"
        payment.checkout_session_id = f"cs_test_load{payment_id:020d}"
        payment.checkout_url = f"https://checkout.stripe.com/c/pay/{payment.checkout_session_id}"
        payment.payment_intent_id = f"pi_load{payment_id:020d}"
        payment.settled_at = min(at + timedelta(seconds=rng.randint(60, 2 * 86400)), ctx.now)
    else:
        payment.idempotency_key = f"desk-load-{payment_id}"
        payment.settled_at = at
    return payment


# --- The outbox ----------------------------------------------------------------------


class Texts:
    """Message bodies exactly as `render_message` writes them, rendered once per
    template with placeholders and filled in per message (rendering a Django template
    for every one of hundreds of thousands of messages would take minutes)."""

    FIELDS = ("patient_first_name", "patient_name", "doctor", "when", "time")

    def __init__(self) -> None:
        self.skeletons: dict[str, str] = {}
        self.when: dict[datetime, str] = {}

    def body(self, template: str, visit: Visit) -> str:
        skeleton = self.skeletons.get(template)
        if skeleton is None:
            text = render_message(
                template,
                **{name: f"\x00{name}\x00" for name in self.FIELDS},
                payment_url="",
                previous_when="",
            )
            text = text.replace("{", "{{").replace("}", "}}")
            for name in self.FIELDS:
                text = text.replace(f"\x00{name}\x00", f"{{{name}}}")
            skeleton = self.skeletons[template] = text
        moment = self.when.get(visit.starts_at)
        if moment is None:
            moment = self.when[visit.starts_at] = when(visit.starts_at)
        patient = visit.patient
        return skeleton.format(
            patient_first_name=patient.given_name,
            patient_name=f"{patient.given_name} {patient.family_name}",
            doctor=visit.doctor.model.display_name,
            when=moment,
            time=moment.rsplit(" at ", 1)[-1],
        )


def _write_notifications(ctx: Context, progress: Progress) -> None:
    """The outbox a running clinic would hold: every message of the last
    NOTIFICATIONS_RETENTION_DAYS (older finished ones are purged by then) and the
    reminders still to go out, with the keys the rules give them."""
    rng = ctx.rng("notifications")
    writer = Writer(ctx)
    texts = Texts()
    cutoff = ctx.now - timedelta(days=settings.NOTIFICATIONS_RETENTION_DAYS)
    recent = [
        visit for visit in ctx.visits if visit.updated_at >= cutoff or visit.starts_at >= ctx.now
    ]
    detail_link = reverse("scheduling:detail", args=[0])[: -len("0/")]
    for number, visit in enumerate(recent, 1):
        for message in _messages_of(ctx, rng, visit, texts, detail_link):
            if message.status == MessageStatus.PENDING or message.updated_at >= cutoff:
                writer.add(message)
        if number % BATCH_SIZE == 0 or number == len(recent):
            progress("notifications (recent appointments)", number, len(recent))
    writer.flush()


def _messages_of(
    ctx: Context, rng: random.Random, visit: Visit, texts: Texts, detail_link: str
) -> Iterator[Notification]:
    def sms(template: str, key: str, send_after: datetime, withdrawn_at=None) -> Notification:
        return _sms(ctx, rng, visit, texts, template, key, send_after, withdrawn_at)

    yield sms("appointment_booked", f"booked:{visit.id}", visit.created_at)
    if visit.confirmed_at:
        yield sms("appointment_confirmed", f"confirmed:{visit.id}", visit.confirmed_at)
        for hours in settings.NOTIFICATIONS_REMINDER_HOURS:
            send_after = visit.starts_at - timedelta(hours=hours)
            if send_after <= visit.confirmed_at:
                continue  # too late to remind when it was confirmed
            yield sms(
                "appointment_reminder",
                f"reminder:{visit.id}:{hours}h:{visit.starts_at.isoformat()}",
                send_after,
                # A cancellation or the patient's arrival cancels a reminder not sent.
                withdrawn_at=visit.cancelled_at or visit.arrived_at,
            )
    if visit.status == Status.CANCELLED:
        patient = visit.patient
        yield sms("appointment_cancelled", f"cancelled:{visit.id}", visit.cancelled_at)
        sent_at = visit.cancelled_at + timedelta(seconds=rng.randint(1, 30))
        yield Notification(
            user_id=visit.doctor.user_id,
            channel=Channel.IN_APP,
            template="doctor_appointment_cancelled",
            subject=f"{settings.CLINIC_NAME}: {patient.given_name} {patient.family_name}",
            body=texts.body("doctor_appointment_cancelled", visit),
            link=f"{detail_link}{visit.id}/",
            appointment_id=visit.id,
            idempotency_key=f"cancelled:{visit.id}:doctor",
            status=MessageStatus.SENT,
            send_after=visit.cancelled_at,
            next_attempt_at=visit.cancelled_at,
            attempts=1,
            claimed_at=sent_at,
            address=visit.doctor.username,
            sent_at=sent_at,
            read_at=(sent_at + timedelta(hours=rng.randint(1, 30)) if rng.random() < 0.8 else None),
            created_at=visit.cancelled_at,
            updated_at=sent_at,
        )
    elif visit.status == Status.NO_SHOW:
        yield sms("appointment_no_show", f"no_show:{visit.id}", visit.no_show_at)
    elif visit.status == Status.COMPLETED:
        yield sms("session_completed", f"session_completed:{visit.session_id}", visit.completed_at)


def _sms(
    ctx: Context,
    rng: random.Random,
    visit: Visit,
    texts: Texts,
    template: str,
    key: str,
    send_after: datetime,
    withdrawn_at: datetime | None,
) -> Notification:
    """One SMS to the patient, in the state the worker would have left it by now."""
    due = outside_quiet_hours(send_after)
    message = Notification(
        patient_id=visit.patient.id,
        channel=Channel.SMS,
        template=template,
        body=texts.body(template, visit),
        appointment_id=visit.id,
        idempotency_key=key,
        send_after=send_after,
        next_attempt_at=due,
        created_at=visit.confirmed_at if template == "appointment_reminder" else send_after,
    )
    if withdrawn_at is not None and withdrawn_at < due:
        message.status = MessageStatus.CANCELLED
        message.updated_at = withdrawn_at
        return message
    if due > ctx.now:
        message.status = MessageStatus.PENDING
        message.updated_at = message.created_at
        return message
    message.attempts = 1
    message.claimed_at = due + timedelta(seconds=rng.randint(0, 59))
    if template == "appointment_reminder" and message.claimed_at >= visit.starts_at:
        # An early appointment's reminder held back by the quiet hours until it began.
        message.status = MessageStatus.SKIPPED
        message.last_error = "The appointment has already started."
        message.updated_at = message.claimed_at
        return message
    opted_out = visit.patient.opted_out_at
    if opted_out is not None and opted_out <= message.claimed_at:
        message.status = MessageStatus.SKIPPED
        message.last_error = "The patient has opted out of SMS."
        message.updated_at = message.claimed_at
        return message
    message.address = visit.patient.phone
    message.provider_message_id = f"SM{rng.getrandbits(128):032x}"
    message.sent_at = message.claimed_at + timedelta(seconds=1)
    r = rng.random()
    if r < 0.93:
        message.status = MessageStatus.DELIVERED
        message.delivered_at = message.sent_at + timedelta(seconds=rng.randint(2, 20))
        message.updated_at = message.delivered_at
    elif r < 0.985:
        message.status = MessageStatus.SENT  # no delivery receipt came back
        message.updated_at = message.sent_at
    else:
        message.status = MessageStatus.FAILED
        message.last_error = "Twilio error 30003: Unreachable destination handset."
        message.updated_at = message.sent_at + timedelta(seconds=rng.randint(5, 60))
    return message
