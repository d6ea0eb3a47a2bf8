"""How the generator writes: rows buffered and bulk-inserted in batches with the
ids and timestamps it gave them, foreign keys checked as rows go in, the id
sequences moved past those ids, and fresh planner statistics at the end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.color import no_style
from django.db import connection, models

from bench.generator.context import Context, Progress
from bench.generator.sizes import BATCH_SIZE
from doctors.models import Doctor, TimeOff, WorkingHours
from notifications.models import Notification
from patients.models import Patient
from payments.models import Invoice, InvoiceLine, Payment, Refund
from records.models import ClinicalNote, MedicalRecord, Prescription, PrescriptionItem
from scheduling.models import Appointment, AppointmentChange
from sessions_app.models import PerformedService, Session

# Their timestamps are set by the generator (a visit booked two years ago was created
# two years ago), so auto_now and auto_now_add must not overwrite them on the way in.
TIMESTAMPED = (Patient, MedicalRecord, Appointment, Session, Payment, Refund, Notification)


@contextmanager
def given_timestamps() -> Iterator[None]:
    """auto_now and auto_now_add off on the TIMESTAMPED models, for as long as it lasts."""
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
def foreign_keys_checked_at_once() -> Iterator[None]:
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


def next_id(model: type[models.Model]) -> int:
    """The first id to give new rows of `model` (ids are set by the generator, so
    children can point at parents without reading ids back)."""
    return (model.objects.aggregate(top=models.Max("pk"))["top"] or 0) + 1


EXPLICIT_IDS = (Patient, MedicalRecord, Appointment, Session, Prescription, Invoice, Payment)


def reset_sequences() -> None:
    """Move PostgreSQL's id sequences past the ids the generator gave."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(EXPLICIT_IDS))
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def analyze(progress: Progress) -> None:
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
