"""The generator's working state: the plan of the clinic held in memory while its
rows are written (doctors, patients and every visit with the times of what
happened to it), and the context each step reads and adds to."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from bench.generator.catalogue import Profile
from bench.generator.seeded import local_date, stream
from doctors.models import Doctor
from scheduling.models import Service

# progress(step, done, total), called as each step goes.
Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class PlannedService:
    """A service of the catalogue and the slots it takes."""

    model: Service
    steps: int  # slot-grid steps it takes, rounded up

    @property
    def minutes(self) -> int:
        return self.model.duration_minutes


@dataclass(slots=True)
class PlannedDoctor:
    """A doctor written to the database, with what the plan needs of them: hours,
    days off, the mix of their visits and their panel of usual patients."""

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
    """A patient (written in batches), with what the plan needs of them."""

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
    """What every step shares: the arguments, the plan so far and the row counts."""

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
        """The seeded stream of one step (seeded.stream)."""
        return stream(self.seed, step)

    @property
    def days(self) -> Iterator[date]:
        day = self.first_day
        while day <= self.until:
            yield day
            day += timedelta(days=1)

    @property
    def today(self) -> date:
        return local_date(self.now)
