"""The services catalogue and the free-slot search of the JSON API: what the booking
page offers, through the same selector (`free_slots`) and the same date rules.

Its own router, mounted by clinic/api.py beside scheduling/api.py (the appointments
endpoints). The service is chosen by id, as everywhere else in the API.
"""

from __future__ import annotations

from typing import TypeVar

from django.conf import settings
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import ValidationError

from clinic.kernel.api import ERRORS, require
from clinic.kernel.api_types import ClinicDay, ClinicTime, Id, OptionalId, field_problem
from doctors.models import Doctor
from patients.models import Patient

from .exceptions import InvalidTimes
from .models import Service
from .selectors import (
    MAX_SEARCH_DAYS,
    NEXT_AVAILABLE_HORIZON_DAYS,
    NEXT_AVAILABLE_LIMIT,
    Slot,
    free_slots,
    next_free_slots,
)

router = Router(tags=["scheduling"])

M = TypeVar("M", bound=Model)


class ServiceRef(Schema):
    """A service named inside another resource."""

    id: int
    code: str
    name: str


class ServiceOut(Schema):
    id: int
    code: str
    name: str
    duration_minutes: int
    price: str = Field(pattern=r"^\d+\.\d{2}$", description="A decimal string: 80.00.")
    currency: str

    @staticmethod
    def resolve_price(service: Service) -> str:
        return f"{service.price:.2f}"

    @staticmethod
    def resolve_currency(service: Service) -> str:
        return settings.CLINIC_CURRENCY


class SlotSearch(Schema):
    service: Id = Field(description="The service's id, from GET /services.")
    doctor: OptionalId = Field(None, description="A doctor's id; left out: any active doctor.")
    patient: OptionalId = Field(
        None, description="A patient's id: their other appointments are avoided too."
    )
    date_from: ClinicDay = Field(description="The first day, in the clinic's calendar.")
    date_to: ClinicDay | None = Field(
        None,
        description=f"The last day, inclusive; left out: date_from. At most {MAX_SEARCH_DAYS} "
        "days from date_from.",
    )


class NextSlotSearch(Schema):
    service: Id = Field(description="The service's id, from GET /services.")
    doctor: OptionalId = Field(None, description="A doctor's id; any doctor when absent.")
    patient: OptionalId = Field(
        None, description="A patient's id: their other appointments are avoided too."
    )
    date_from: ClinicDay = Field(
        description="The first day to look at, in the clinic's calendar (never before now)."
    )
    limit: int = Field(NEXT_AVAILABLE_LIMIT, ge=1, le=50, description="How many slots, at most.")


class SlotOut(Schema):
    doctor: int
    doctor_name: str
    starts_at: ClinicTime
    ends_at: ClinicTime

    @staticmethod
    def resolve_doctor(slot: Slot) -> int:
        return slot.doctor.pk

    @staticmethod
    def resolve_doctor_name(slot: Slot) -> str:
        return slot.doctor.display_name


@router.get("/services", response={200: list[ServiceOut], **ERRORS})
def list_services(request: HttpRequest) -> list[Service]:
    """The active services: what can be booked, how long it takes, what it costs."""
    require(request, "scheduling.view_service")
    return list(Service.objects.active().order_by("name", "pk"))


@router.get("/slots", response={200: list[SlotOut], **ERRORS})
def search_slots(request: HttpRequest, search: Query[SlotSearch]) -> list[Slot]:
    """Free start times for a service, with one doctor or any, between two dates
    inclusive, in the clinic's time zone, ordered by time then doctor: the times the
    booking page offers."""
    require(request, "scheduling.add_appointment")
    service = _chosen(Service.objects.active(), search.service, "service", "active service")
    assert service is not None  # `service` is a required parameter.
    doctor = _chosen(Doctor.objects.active(), search.doctor, "doctor", "active doctor")
    patient = _chosen(Patient.objects.all(), search.patient, "patient", "patient")
    try:
        return free_slots(
            service=service,
            doctor=doctor,
            patient=patient,
            date_from=search.date_from,
            date_to=search.date_to or search.date_from,
        )
    except InvalidTimes as error:
        # The selector owns the range rules (order, length); the client is told the
        # field to change.
        raise ValidationError([field_problem("date_to", error.message, where="query")]) from None


@router.get(
    "/slots/next",
    response={200: list[SlotOut], **ERRORS},
    description="The first free start times from a day on, across days, with one doctor "
    'or any, ordered by time then doctor: "next available". Looks at most '
    f"{NEXT_AVAILABLE_HORIZON_DAYS} days ahead; an empty list means nothing free in them.",
)
def next_available(request: HttpRequest, search: Query[NextSlotSearch]) -> list[Slot]:
    """ "Next available", through the same selector as the pages."""
    require(request, "scheduling.add_appointment")
    service = _chosen(Service.objects.active(), search.service, "service", "active service")
    assert service is not None  # `service` is a required parameter.
    doctor = _chosen(Doctor.objects.active(), search.doctor, "doctor", "active doctor")
    patient = _chosen(Patient.objects.all(), search.patient, "patient", "patient")
    return next_free_slots(
        service=service,
        doctor=doctor,
        patient=patient,
        from_date=search.date_from,
        limit=search.limit,
    )


def _chosen(queryset: QuerySet[M], pk: int | None, field: str, what: str) -> M | None:
    """The row named by a query parameter, None when not given; an id naming no
    such row is a field error, as in the booking page's form."""
    if pk is None:
        return None
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise ValidationError([field_problem(field, f"No {what} has id {pk}.", where="query")])
    return found
