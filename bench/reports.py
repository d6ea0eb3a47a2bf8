"""The manager's reports over the last year, and the admin home's dashboard: server
time of each page (through Django's whole stack in this process) and its queries.
Imported by bench/measure.py once Django is set up."""

from __future__ import annotations

import time
from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.utils import timezone

from clinic.kernel.roles import MANAGERS

# Each report over the year to today, grouped as a manager would first open it.
REPORT_PAGES = {
    "attendance": {"group": "doctor"},
    "utilisation": {"group": "week"},
    "takings": {"group": "month"},
    "takings_by_day": {"group": "day"},
    "takings_by_service": {"group": "service"},
    "receivables": {},
    "messages": {},
}


def measure_reports(plan, iterations: int) -> dict:
    from bench.scenario import timed_page

    manager = User.objects.create_user(f"bench-manager-{time.time_ns()}", is_staff=True)
    manager.groups.add(Group.objects.get(name=MANAGERS))
    try:
        client = plan.client_for(manager)
        last = timezone.localdate()
        year = {
            "preset": "custom",
            "first": (last - timedelta(days=364)).isoformat(),
            "last": last.isoformat(),
        }
        figures: dict = {}
        for name, extra in REPORT_PAGES.items():
            slug = name.split("_by_")[0]
            query = "&".join(f"{key}={value}" for key, value in {**year, **extra}.items())
            ms, queries, _slowest = timed_page(
                client, f"/admin/reports/{slug}/?{query}", iterations
            )
            figures[f"report_{name}_ms"], figures[f"report_{name}_queries"] = ms, queries
        ms, queries, _slowest = timed_page(client, "/admin/", iterations)
        figures["dashboard_ms"], figures["dashboard_queries"] = ms, queries
    finally:
        manager.delete()
    return figures
