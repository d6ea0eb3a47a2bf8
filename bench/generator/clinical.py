"""The generated clinical work: for each seen visit its completed session, the
services performed (at that year's prices), a signed SOAP note with vitals, and
for some a signed prescription."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from itertools import count

from bench.generator.catalogue import YEARLY_PRICE_RISE
from bench.generator.context import Context, PlannedService, Progress, Visit
from bench.generator.seeded import local_date
from bench.generator.sizes import BATCH_SIZE
from bench.generator.words import MEDICATIONS, ONSETS
from bench.generator.writing import Writer, next_id
from records.models import ClinicalNote, Prescription, PrescriptionItem
from scheduling.models import Status
from sessions_app.models import PerformedService, Session, SessionStatus


def write_sessions(ctx: Context, progress: Progress) -> None:
    """A session for every completed visit, with what was done, written and prescribed."""
    rng = ctx.rng("sessions")
    writer = Writer(ctx)
    prices: dict[tuple[int, int], Decimal] = {}
    session_ids = count(next_id(Session))
    prescription_ids = count(next_id(Prescription))
    completed = [visit for visit in ctx.visits if visit.status == Status.COMPLETED]
    for number, visit in enumerate(completed, 1):
        visit.session_id = next(session_ids)
        writer.add(_session(visit))
        _perform(ctx, rng, writer, visit, prices)
        writer.add(_note(rng, visit))
        if rng.random() < visit.doctor.profile.prescribes:
            _prescribe(rng, writer, visit, next(prescription_ids))
        if number % BATCH_SIZE == 0 or number == len(completed):
            progress("sessions", number, len(completed))
    writer.flush()


def _session(visit: Visit) -> Session:
    doctor_user = visit.doctor.user_id
    return Session(
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


def _perform(
    ctx: Context,
    rng: random.Random,
    writer: Writer,
    visit: Visit,
    prices: dict[tuple[int, int], Decimal],
) -> None:
    """The visit's service, and now and then one of the doctor's extras on top."""
    day = local_date(visit.starts_at)
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


def _price_on(
    service: PlannedService, day: date, until: date, cache: dict[tuple[int, int], Decimal]
) -> Decimal:
    """The service's price in the year of `day`: today's, less the yearly rises since."""
    key = (service.model.pk, day.year)
    if key not in cache:
        price = service.model.price / YEARLY_PRICE_RISE ** max(0, until.year - day.year)
        cache[key] = price.quantize(Decimal("1")).quantize(Decimal("0.01"))
    return cache[key]


def _note(rng: random.Random, visit: Visit) -> ClinicalNote:
    """A short SOAP note with vitals, signed when the session completed."""
    profile = visit.doctor.profile
    vitals = _vitals(rng, child=visit.patient.child)
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
        **vitals,
        author_id=visit.doctor.user_id,
        created_at=visit.started_at,
        updated_at=visit.completed_at,
        signed_at=visit.completed_at,
        signed_by_id=visit.doctor.user_id,
    )


def _vitals(rng: random.Random, *, child: bool) -> dict[str, int | Decimal | None]:
    """The note's vitals, each taken at most visits; blood pressure not for children."""
    systolic = rng.randint(95, 165) if not child and rng.random() < 0.85 else None
    diastolic = rng.randint(55, min(105, systolic - 20)) if systolic else None
    pulse = rng.randint(55, 100) if rng.random() < 0.8 else None
    temperature = Decimal(rng.randint(361, 385)) / 10 if rng.random() < 0.4 else None
    weight = (
        Decimal(rng.randint(40, 450) if child else rng.randint(450, 1300)) / 10
        if rng.random() < 0.6
        else None
    )
    return {
        "bp_systolic": systolic,
        "bp_diastolic": diastolic,
        "pulse": pulse,
        "temperature_c": temperature,
        "weight_kg": weight,
    }


def _prescribe(rng: random.Random, writer: Writer, visit: Visit, prescription_id: int) -> None:
    """A prescription of one to three medications, signed as the session completed."""
    doctor_user = visit.doctor.user_id
    writer.add(
        Prescription(
            id=prescription_id,
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
        name, strength, dose, route, frequency, duration, quantity, instructions = medication
        writer.add(
            PrescriptionItem(
                prescription_id=prescription_id,
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
