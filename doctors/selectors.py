from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from .models import Doctor, WorkingHours


def doctor_directory() -> QuerySet[Doctor]:
    """Active doctors with their specialty and weekly hours, for the staff directory."""
    return (
        Doctor.objects.active()
        .select_related("specialty")
        .prefetch_related(
            Prefetch("working_hours", queryset=WorkingHours.objects.order_by("weekday", "starts"))
        )
    )
