"""Check that a database (typically one just restored from a backup) is whole:
`manage.py verify_database [--write counts.json | --expect counts.json]`.

It prints the row counts of the main tables and checks that every migration is
applied. On PostgreSQL it also checks that every constraint is validated and every
index valid, that the appointments' exclusion constraints (no double booking) exist,
and that no table's id sequence lags behind its rows (the next insert would fail).
`--write` saves the counts before a backup; `--expect` compares a restored database
with them. Anything wrong ends the command with an error and a non-zero exit code.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from scheduling.constraints import NoOverlapConstraint

# The tables whose rows a backup must never lose, by model label.
MAIN_TABLES = [
    "auth.user",
    "doctors.doctor",
    "patients.patient",
    "records.medicalrecord",
    "scheduling.appointment",
    "sessions_app.session",
    "records.clinicalnote",
    "records.prescription",
    "payments.invoice",
    "payments.payment",
    "payments.refund",
    "notifications.notification",
    "records.accesslog",
]


class Command(BaseCommand):
    help = "Check a (restored) database: row counts, migrations and constraints."

    def add_arguments(self, parser) -> None:
        files = parser.add_mutually_exclusive_group()
        files.add_argument(
            "--write", metavar="FILE", type=Path, help="Save the row counts to FILE (JSON)."
        )
        files.add_argument(
            "--expect",
            metavar="FILE",
            type=Path,
            help="Compare the row counts with those --write saved in FILE.",
        )

    def handle(self, *args, write: Path | None, expect: Path | None, **options) -> None:
        expected = read_counts(expect) if expect else None
        counts = table_counts()
        width = max(len(label) for label in counts)
        self.stdout.write(f"Row counts in database {connection.settings_dict['NAME']}:")
        for label, count in counts.items():
            self.stdout.write(f"  {label:<{width}}  {count:>9}")

        problems = [f"Migration {name} is not applied." for name in unapplied_migrations()]
        if connection.vendor == "postgresql":
            problems += postgresql_problems()
        if expected is not None:
            problems += count_differences(expected, counts)
        if problems:
            raise CommandError(
                "The database failed verification:\n" + "\n".join(f"  - {p}" for p in problems)
            )

        if write:
            write_counts(write, counts)
            self.stdout.write(f"Row counts written to {write}.")
        if expect:
            self.stdout.write(f"Row counts match {expect}.")
        self.stdout.write(self.style.SUCCESS("Database OK."))


def table_counts() -> dict[str, int]:
    return {label: apps.get_model(label)._default_manager.count() for label in MAIN_TABLES}


def read_counts(path: Path) -> dict[str, int]:
    try:
        counts = json.loads(path.read_text())["counts"]
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror}.") from error
    except (ValueError, KeyError, TypeError) as error:
        raise CommandError(f"{path} is not a counts file written by --write.") from error
    if not isinstance(counts, dict) or not all(isinstance(n, int) for n in counts.values()):
        raise CommandError(f"{path} is not a counts file written by --write.")
    return counts


def write_counts(path: Path, counts: dict[str, int]) -> None:
    document = {
        "database": connection.settings_dict["NAME"],
        "written_at": timezone.now().isoformat(),
        "counts": counts,
    }
    try:
        path.write_text(json.dumps(document, indent=2) + "\n")
    except OSError as error:
        raise CommandError(f"Cannot write {path}: {error.strerror}.") from error


def count_differences(expected: dict[str, int], found: dict[str, int]) -> list[str]:
    problems = []
    for label, count in expected.items():
        if label not in found:
            problems.append(f"The counts file names {label}, which this command does not count.")
        elif found[label] != count:
            problems.append(f"{label}: {count} rows expected, {found[label]} found.")
    return problems


def unapplied_migrations() -> list[str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def postgresql_problems() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE NOT convalidated"
        )
        problems = [f"Constraint {name} on {table} is not validated." for table, name in cursor]
        cursor.execute("SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid")
        problems += [f"Index {name} is not valid (rebuild it with REINDEX)." for (name,) in cursor]
    return problems + missing_exclusion_constraints() + lagging_sequences()


def missing_exclusion_constraints() -> list[str]:
    """The appointments' no-overlap rule lives in the database only as exclusion
    constraints; a restore that dropped them would allow double booking."""
    model = apps.get_model("scheduling.appointment")
    wanted = {c.name for c in model._meta.constraints if isinstance(c, NoOverlapConstraint)}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'x' AND conrelid = %s::regclass",
            [model._meta.db_table],
        )
        present = {name for (name,) in cursor}
    return [
        f"Exclusion constraint {name} on {model._meta.db_table} is missing."
        for name in sorted(wanted - present)
    ]


def lagging_sequences() -> list[str]:
    """A data-only restore can leave an id sequence below the rows' highest id; the
    next insert into that table would then fail on a duplicate key."""
    problems = []
    with connection.cursor() as cursor:
        for label in MAIN_TABLES:
            model = apps.get_model(label)
            table, column = model._meta.db_table, model._meta.pk.column
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
            (sequence,) = cursor.fetchone()
            if sequence is None:
                continue
            # The sequence's name comes from the catalog, already quoted.
            quote = connection.ops.quote_name
            cursor.execute(
                f"SELECT s.last_value + s.is_called::int, "
                f"(SELECT max({quote(column)}) FROM {quote(table)}) FROM {sequence} s"
            )
            next_id, highest = cursor.fetchone()
            if highest is not None and next_id <= highest:
                problems.append(
                    f"Sequence {sequence} would give id {next_id}, but {table} already has "
                    f"id {highest} (fix: manage.py sqlsequencereset)."
                )
    return problems
