"""Fill an empty database with years of a realistic clinic, for load tests:
`manage.py generate_load_data --doctors 20 --years 5 [--seed 1] [--patients N]
[--until YYYY-MM-DD]`.

A thin wrapper around `bench.generator.generate` (which the benchmark calls
directly): bench/ is not an installed package, it is imported from the repository's
root, where manage.py runs. It refuses a database that already has patients or
appointments, and a server with DEBUG off unless told `--yes-i-know`: load data in
production would be thousands of invented patients among the real ones.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from bench.generator import NotEmpty, generate

MAX_DOCTORS = 200
MAX_YEARS = 20
MAX_PATIENTS = 2_000_000


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-12-31.") from None


class Command(BaseCommand):
    help = (
        "Fill an empty database with a realistic clinic for load tests: doctors, "
        "patients, years of appointments, sessions, notes, invoices, payments, SMS."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--doctors", type=int, default=20, help="Default 20.")
        parser.add_argument(
            "--years", type=float, default=5, help="Years of history up to --until (default 5)."
        )
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same data.")
        parser.add_argument("--patients", type=int, default=None, help="Default 1,500 per doctor.")
        parser.add_argument(
            "--until",
            type=_day,
            default=None,
            help="Last day with appointments (default: 30 days from today).",
        )
        parser.add_argument(
            "--yes-i-know",
            action="store_true",
            help="Run even with DEBUG off: this is not a production database.",
        )

    def handle(self, *args: str, **options: Any) -> None:
        if not settings.DEBUG and not options["yes_i_know"]:
            raise CommandError(
                "DEBUG is off: this may be a production database, and load data would put "
                "thousands of invented patients in it. Run with DEBUG=true, or add "
                "--yes-i-know if this really is a scratch database."
            )
        doctors, years, patients = options["doctors"], options["years"], options["patients"]
        if not 1 <= doctors <= MAX_DOCTORS:
            raise CommandError(f"--doctors must be between 1 and {MAX_DOCTORS}.")
        if not 0 < years <= MAX_YEARS:
            raise CommandError(f"--years must be more than 0 and at most {MAX_YEARS}.")
        if patients is not None and not 1 <= patients <= MAX_PATIENTS:
            raise CommandError(f"--patients must be between 1 and {MAX_PATIENTS:,}.")
        database = connection.settings_dict["NAME"]
        self.stdout.write(f"Generating {doctors} doctors × {years:g} years into {database}…")
        started = time.monotonic()
        try:
            counts = generate(
                doctors=doctors,
                years=years,
                seed=options["seed"],
                until=options["until"],
                patients=patients,
                progress=self.progress,
            )
        except NotEmpty as error:
            raise CommandError(str(error)) from None
        elapsed = time.monotonic() - started
        width = max(len(name) for name in counts)
        for name, number in counts.items():
            self.stdout.write(f"  {name:<{width}}  {number:>10,}")
        self.stdout.write(self.style.SUCCESS(f"Done in {elapsed:.1f} s."))

    def progress(self, step: str, done: int, total: int) -> None:
        """One line per step, rewritten in place on a terminal."""
        end = "\n" if done >= total else ""
        if self.stderr.isatty() or end:
            self.stderr.write(f"\r{step} {done:,}/{total:,}", ending=end)
            self.stderr.flush()
