"""The input and output types every endpoint of the JSON API shares (clinic/api.py
mounts the endpoints): ids, plain text, aware times, clinic days, times shown in the
clinic's zone, bounded pagination and list filters, field errors.

One definition each, so that an id, a text or a time is checked and shown the same way
by every endpoint."""

# No `from __future__ import annotations`: ninja and pydantic read these types at run
# time, from the modules that use them (a paginated view's types through its wrapper).
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from annotated_types import GroupedMetadata
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Path, Schema
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import LimitOffsetPagination
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    StringConstraints,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError
from pydantic_core import ValidationError as PydanticValidationError

from .dates import clinic_zone, validate_schedule_date

M = TypeVar("M", bound=Model)

# --- Ids ---------------------------------------------------------------------------

# The largest primary key the database can hold (PostgreSQL's bigint, SQLite's
# integer): a larger id names no row, and would overflow in the query rather than
# find none.
MAX_ID = 2**63 - 1

# An id in a body or a query string: outside 1..MAX_ID it is a field error (422).
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def blank_is_none(value: object) -> object:
    # A form's "Any doctor" sends doctor= ; it means no doctor in particular.
    return None if value == "" else value


# An optional id in a query string, where an empty value means none was chosen.
OptionalId = Annotated[Id | None, BeforeValidator(blank_is_none)]


def path_id(description: str) -> Any:
    """An id in the path. Any integer is accepted here: one outside 1..MAX_ID names no
    row, so `get_or_404` answers 404 not_found for it, as for an id that is unused."""
    return Path(..., description=description)


def id_or_404(pk: int) -> int:
    """A path's id, or 404 when no row can have it (before a query would overflow)."""
    if not 1 <= pk <= MAX_ID:
        raise Http404
    return pk


def get_or_404(queryset: type[M] | QuerySet[M], pk: int) -> M:
    """The row of `queryset` that a path's id names, else 404."""
    return get_object_or_404(queryset, pk=id_or_404(pk))


# --- Text --------------------------------------------------------------------------


def plain_text(value: str) -> str:
    # PostgreSQL cannot store NUL in text (Django's forms refuse it too), and a lone
    # surrogate ("\ud800" in JSON) cannot be encoded for any database: both would
    # fail in the query, a 500, rather than here, a field error.
    if "\x00" in value:
        raise PydanticCustomError("null_character", "Null characters are not allowed.")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise PydanticCustomError("unicode", "Text must be valid Unicode.") from None
    return value


@dataclass(frozen=True)
class Text(GroupedMetadata):
    """A string as a form takes it: stripped, plain text, no longer than its column
    (so the OpenAPI document states the limits). Used as `Annotated[str, Text(300)]`."""

    max_length: int | None
    min_length: int = 0

    def __iter__(self) -> Iterator[object]:
        yield from StringConstraints(
            strip_whitespace=True, min_length=self.min_length, max_length=self.max_length
        )
        yield AfterValidator(plain_text)


# --- Days and times ----------------------------------------------------------------


def _within_schedule(day: date) -> None:
    """The pages' rule for a date anyone keeps a schedule for (last year to a couple
    of years ahead); far-off dates are mistakes, and near year 9999 they cannot be
    turned into a day's bounds at all."""
    try:
        validate_schedule_date(day)
    except ValidationError as error:
        raise PydanticCustomError("date_range", error.messages[0]) from None


def _schedule_day(day: date) -> date:
    _within_schedule(day)
    return day


def _aware_and_scheduled(value: Any, handler: ValidatorFunctionWrapHandler) -> datetime:
    try:
        moment = handler(value)
    except PydanticValidationError as error:
        if any(problem["type"] == "timezone_aware" for problem in error.errors()):
            raise PydanticCustomError(
                "timezone_aware",
                "Give the time with its offset (e.g. 2026-11-30T10:00:00-05:00); "
                "a time without one is ambiguous and is refused.",
            ) from None
        raise
    try:
        local = moment.astimezone(clinic_zone())
    except (OverflowError, ValueError):
        raise PydanticCustomError("date_range", "That time is out of range.") from None
    _within_schedule(local.date())
    return moment


# An instant given with its offset, on a date the schedule keeps: a naive time is
# refused with a message saying how to write one, rather than guessed at.
AwareTime = Annotated[
    AwareDatetime,
    WrapValidator(_aware_and_scheduled),
    Field(description="ISO 8601 with an offset, e.g. 2026-11-30T10:00:00-05:00."),
]
# A day in the clinic's calendar (its time zone), within the schedule's range.
ClinicDay = Annotated[date, AfterValidator(_schedule_day)]
# Times are stored in UTC and shown in the clinic's zone with their offset, the same
# in every answer: "2026-11-30T09:00:00-05:00".
ClinicTime = Annotated[AwareDatetime, AfterValidator(timezone.localtime)]


# --- Pagination --------------------------------------------------------------------


class Page(LimitOffsetPagination):
    """?limit=&offset=, both bounded: a page of at most 100, an offset that the
    database's integer never overflows on."""

    # Its own name: ninja files schemas under their class name, and the base class's
    # is also `Input`.
    class PageInput(Schema):
        limit: int = Field(25, ge=1, le=100)
        offset: int = Field(0, ge=0, le=1_000_000_000)

    Input = PageInput  # type: ignore[assignment]  # a subclass of the base's, renamed


def narrowed(queryset: QuerySet[M], **lookups: object) -> QuerySet[M]:
    """A list's rows narrowed by the filters a client gave: a lookup whose value is
    None (the filter left out) does not narrow."""
    return queryset.filter(**{name: value for name, value in lookups.items() if value is not None})


# --- Field errors ------------------------------------------------------------------


def field_problem(field: str, message: str, *, where: str = "body") -> dict:
    """One error about a field of the body (`where="body"`) or of the query string
    (`where="query"`), in ninja's own shape, so clinic/api.py reports it under the
    field's name as it reports ninja's."""
    location = ("body", "payload", field) if where == "body" else (where, field)
    return {"loc": location, "msg": message, "type": "value_error"}


def refuse_fields(**messages: str) -> NinjaValidationError:
    """A 422 naming fields of the body, e.g. ids that point at nothing."""
    return NinjaValidationError(
        [field_problem(name, message) for name, message in messages.items()]
    )
