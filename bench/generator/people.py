"""The generated clinic's people: the staff (receptionists, a manager and the
doctors, whose logins cannot sign in) and the patients registered over the years,
each with a usual doctor, a visit frequency and sometimes a medical record."""

from __future__ import annotations

import itertools
import random
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from django.contrib.auth.models import Group, User

from bench.generator.calendar import (
    plan_services,
    plan_time_off,
    weekly_hours,
    write_working_hours,
)
from bench.generator.catalogue import PROFILES, SPECIALTY_CYCLE
from bench.generator.context import Context, PlannedDoctor, PlannedPatient, Progress
from bench.generator.seeded import at, between, local_date, office_time
from bench.generator.sizes import BATCH_SIZE
from bench.generator.words import (
    ALLERGIES,
    CITIES,
    CONDITIONS,
    FAMILY,
    GIVEN_FEMALE,
    GIVEN_MALE,
    STREET_KINDS,
    STREETS,
)
from bench.generator.writing import Writer, next_id
from clinic.kernel.roles import DOCTORS, MANAGERS, RECEPTION
from doctors.models import Doctor, Specialty, TimeOff, WorkingHours
from patients.models import Patient, Sex
from records.models import Allergy, BloodType, MedicalRecord, Severity

USERNAME_PREFIX = "load."
PASSWORD = "!load-test-no-login"  # unusable: these logins cannot sign in


# --- Staff ---------------------------------------------------------------------------


def make_staff(ctx: Context, doctors: int, progress: Progress) -> None:
    """Four receptionists, a manager and `doctors` doctors, all there from the first
    day; each doctor with a specialty, weekly hours and leave."""
    rng = ctx.rng("staff")
    joined = at(ctx.first_day, time(8))
    _make_desk(ctx, rng, joined)
    group = Group.objects.get_or_create(name=DOCTORS)[0]
    family_names = rng.sample(FAMILY, len(FAMILY))
    for number in range(1, doctors + 1):
        ctx.doctors.append(_make_doctor(ctx, rng, number, group, joined, family_names))
        progress("doctors", number, doctors)
    models = [planned.model for planned in ctx.doctors]
    ctx.counts["doctors"] = doctors
    ctx.counts["staff logins"] = doctors + len(ctx.reception_ids) + 1
    ctx.counts["working hours"] = WorkingHours.objects.filter(doctor__in=models).count()
    ctx.counts["time off"] = TimeOff.objects.filter(doctor__in=models).count()


def _make_desk(ctx: Context, rng: random.Random, joined: datetime) -> None:
    """The front desk's four receptionists and the manager."""
    groups = {role: Group.objects.get_or_create(name=role)[0] for role in (RECEPTION, MANAGERS)}
    for number in range(1, 5):
        user = _staff_user(
            f"{USERNAME_PREFIX}reception{number}", rng, groups[RECEPTION], joined=joined
        )
        ctx.reception_ids.append(user.pk)
    ctx.manager_id = _staff_user(
        f"{USERNAME_PREFIX}manager", rng, groups[MANAGERS], joined=joined, is_staff=True
    ).pk


def _make_doctor(
    ctx: Context,
    rng: random.Random,
    number: int,
    group: Group,
    joined: datetime,
    family_names: list[str],
) -> PlannedDoctor:
    """Doctor `number`: their login, profile, specialty, weekly hours and leave."""
    female = rng.random() < 0.5
    given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
    family = family_names[(number - 1) % len(family_names)]
    if number > len(family_names):
        family = f"{family}-{rng.choice(FAMILY)}"
    username = f"{USERNAME_PREFIX}dr{number:02d}"
    user = _staff_user(username, rng, group, joined=joined, names=(given, family))
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
    hours = weekly_hours(rng)
    write_working_hours(doctor, hours)
    planned = PlannedDoctor(doctor, user.pk, user.username, PROFILES[specialty_name], hours)
    plan_services(ctx, planned)
    plan_time_off(ctx, planned, rng)
    return planned


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


# --- Patients ------------------------------------------------------------------------


def fictional_area_codes() -> list[str]:
    """US area codes in which 555-0100..0199 (numbers reserved for fiction) are
    valid: a generated patient's phone never reaches a real person."""
    import phonenumbers

    return [
        str(code)
        for code in range(201, 990)
        if phonenumbers.is_valid_number(phonenumbers.parse(f"+1{code}5550150"))
    ]


class Person(NamedTuple):
    """Who a new patient is, drawn before the rest of their row."""

    sex: str
    given: str
    family: str
    born: date
    child: bool


def make_patients(ctx: Context, count: int, progress: Progress) -> None:
    """Patients registered over the years: a third before the first day, the rest
    joining steadily until now; each has a usual doctor and a visit frequency."""
    rng = ctx.rng("patients")
    first_id = next_id(Patient)
    record_ids = itertools.count(next_id(MedicalRecord))
    writer = Writer(ctx)
    doctor_weights = [sum(len(ranges) for ranges in d.hours.values()) for d in ctx.doctors]
    paediatric = [doctor for doctor in ctx.doctors if doctor.profile.children]
    area_codes = ctx.area_codes
    for index, created_at in enumerate(_registration_times(ctx, rng, count)):
        person = _person(rng, created_at)
        patient = PlannedPatient(
            id=first_id + index,
            given_name=person.given,
            family_name=person.family,
            phone=f"+1{area_codes[(index // 100) % len(area_codes)]}55501{index % 100:02d}",
            created_at=created_at,
            opted_out_at=between(rng, created_at, ctx.now) if rng.random() < 0.03 else None,
            child=person.child,
        )
        doctor = _enrol(ctx, rng, patient, index, doctor_weights, paediatric)
        writer.add(_patient_row(rng, patient, person, index))
        if rng.random() < 0.6:
            for row in _medical_record(rng, patient, doctor, next(record_ids)):
                writer.add(row)
        if (index + 1) % BATCH_SIZE == 0 or index + 1 == count:
            progress("patients", index + 1, count)
    writer.flush()


def _registration_times(ctx: Context, rng: random.Random, count: int) -> list[datetime]:
    """When each patient registered, in office hours, in order."""
    first = at(ctx.first_day, time(0))
    span = max(ctx.now - first, timedelta(days=1))
    return sorted(
        min(ctx.now, office_time(rng, local_date(moment)))
        for moment in (
            first - timedelta(days=3 * 365) * rng.random()
            if rng.random() < 0.35
            else first + span * rng.random()
            for _ in range(count)
        )
    )


def _person(rng: random.Random, created_at: datetime) -> Person:
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
    return Person(sex, given, family, min(born, created_at.date()), child=age_years < 16)


def _age(rng: random.Random) -> float:
    r = rng.random()
    if r < 0.2:
        return rng.uniform(0, 16)
    if r < 0.5:
        return rng.uniform(16, 40)
    if r < 0.82:
        return rng.uniform(40, 65)
    return rng.uniform(65, 95)


def _enrol(
    ctx: Context,
    rng: random.Random,
    patient: PlannedPatient,
    index: int,
    doctor_weights: list[int],
    paediatric: list[PlannedDoctor],
) -> PlannedDoctor:
    """Add the patient to the plan with how often they come, and to their usual
    doctor's panel; returns that doctor."""
    ctx.patients.append(patient)
    ctx.patient_joined.append(patient.created_at)
    # How often they come: most now and then, a few (chronic care) very often.
    weight = min(8.0, rng.paretovariate(1.3))
    ctx.patient_weights.append((ctx.patient_weights or [0.0])[-1] + weight)
    # The usual doctor: a paediatrician for most children, anyone for adults.
    doctor = (
        rng.choice(paediatric)
        if patient.child and paediatric and rng.random() < 0.8
        else rng.choices(ctx.doctors, weights=doctor_weights)[0]
    )
    doctor.panel.append(index)
    doctor.panel_weights.append((doctor.panel_weights or [0.0])[-1] + weight)
    return doctor


def _patient_row(
    rng: random.Random, patient: PlannedPatient, person: Person, index: int
) -> Patient:
    given, family = patient.given_name, patient.family_name
    return Patient(
        id=patient.id,
        given_name=given,
        family_name=family,
        date_of_birth=person.born,
        sex=person.sex,
        phone=patient.phone,
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
        sms_opted_out_at=patient.opted_out_at,
        created_at=patient.created_at,
        updated_at=patient.opted_out_at or patient.created_at,
    )


# How badly patients react to each of the generator's allergies.
SEVERITY = {"Penicillin": Severity.SEVERE, "Peanuts": Severity.LIFE_THREATENING}


def _medical_record(
    rng: random.Random, patient: PlannedPatient, doctor: PlannedDoctor, record_id: int
) -> list[MedicalRecord | Allergy]:
    """The record and its allergy, if any; a record without one says the doctor
    found no known allergies."""
    allergy = rng.choice(ALLERGIES)
    record = MedicalRecord(
        id=record_id,
        patient_id=patient.id,
        no_known_allergies=not allergy,
        chronic_conditions="" if patient.child else rng.choice(CONDITIONS),
        blood_type=rng.choice(BloodType.values),
        updated_at=patient.created_at,
        updated_by_id=doctor.user_id,
    )
    if not allergy:
        return [record]
    return [
        record,
        Allergy(
            record_id=record_id,
            substance=allergy,
            severity=SEVERITY.get(allergy, Severity.MODERATE),
            recorded_by_id=doctor.user_id,
            recorded_at=patient.created_at,
        ),
    ]
