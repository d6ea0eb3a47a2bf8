"""The manager's dashboard on the admin's home page: today and this week at a
glance, each figure from its app's report selector and linking to its report."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from clinic.kernel.periods import preset_period
from notifications.reports import failed_texts
from payments.reports import collected_by_method, open_balances
from scheduling.models import Status
from scheduling.reports import appointments_by_status

from .views import is_manager


def dashboard(today: Any = None) -> dict[str, Any]:
    """Seven queries, whatever the clinic's size."""
    today = today or timezone.localdate()
    day, week = preset_period("today", today), preset_period("this_week", today)
    labels = dict(Status.choices)
    by_status_today = appointments_by_status(period=day)
    by_status_week = appointments_by_status(period=week)
    invoices, owed = open_balances()
    return {
        "today": day,
        "week": week,
        "statuses": [
            (labels[status], by_status_today[status], by_status_week[status])
            for status in by_status_today
        ],
        "waiting": by_status_today[Status.ARRIVED],
        "takings": collected_by_method(period=day),
        "failed": failed_texts(period=week),
        "open_invoices": invoices,
        "owed": owed,
        "currency": settings.CLINIC_CURRENCY,
    }


def install(site: AdminSite) -> None:
    """Shows the dashboard above the models' list on `site`'s home, to managers.
    Called before the site's URLs are built (they take `site.index`)."""
    index = site.index

    def index_with_dashboard(
        request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = dict(extra_context or {})
        if is_manager(request.user):
            extra["dashboard"] = dashboard()
        return index(request, extra_context=extra)

    site.index = index_with_dashboard  # type: ignore[method-assign,assignment]
    site.index_template = "admin/clinic_index.html"
