"""Baked queries: a hot query built and compiled by Django's ORM once per process,
then sent again with each request's values.

Building a queryset (resolving every lookup, join and expression) and compiling it
to SQL costs a few hundred microseconds of CPU, the same work every time for the
same query. On the few queries that every request or poll makes (the session with
its user, an API token, a poll's marker, a booking's check of its day) that was
most of an unchanged poll's CPU and a good part of a booking's (README, "Where the
time goes"). A baked query is that same queryset, built from stand-in values and
compiled by the same ORM once per database; the places of the stand-ins among the
SQL's parameters are noted, and each run puts the real values there. Its answer is
what the queryset's would be: model instances (with their annotations and
select_related rows) or values_list rows, the database's converters applied, made
as Django's own iterables make them (tests/test_baked.py compares every baked
query of the app with its queryset). Where the database backend offers a cursor
that prepares its statements (clinic/postgresql), a baked query runs on it: the
database then parses and plans it once per connection, not on every request.

Only plain values bake: an int, a str, a date or an aware datetime, compared as it
is given. The query is built twice, from two sets of stand-ins, and refused (at its
first run, so in the tests) when a parameter other than the stand-ins differs
between the two: a value computed from a stand-in (`starts_at - 8 hours`, a
weekday, `timezone.now()`) would otherwise be baked in. Such a value becomes a
parameter of its own, computed by the caller. (A clock frozen by a test reads the
same twice: the check then relies on the tests that run with a clock that moves.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesListIterable,
    get_related_populators,
)
from django.utils import timezone

from .db import prepared_cursor

M = TypeVar("M", bound=Model)

# The kinds of value a baked query takes.
KINDS = (int, str, date, datetime)


class BakingError(Exception):
    """A query that cannot be baked as it is written (a programming error)."""


def _stand_in(kind: type, place: int, variant: int) -> Any:
    """A value no real query parameter is equal to, distinct per place and variant,
    and far apart: a value computed from one (a day later, one more) never equals
    another's. The two variants' datetimes fall on different weekdays and hours."""
    if kind is int:
        # Within every integer column's range (a smallint's too): Django answers a
        # lookup outside it without asking the database. A constant of the query
        # equal to one is told apart by the second variant.
        return 30_011 + 1_009 * variant + 97 * place
    if kind is str:
        # With LIKE's own characters, so a lookup that escapes or wraps it shows.
        return f"%_\\baked-{variant}-{place}"
    if kind is datetime:
        first = datetime(1901 + 7 * variant, 3, 5 + variant, 3 + 5 * variant, 7, 11, tzinfo=UTC)
        return first + timedelta(days=37 * place, minutes=13 * place, seconds=place)
    if kind is date:
        return date(1901 + 7 * variant, 3, 5 + variant) + timedelta(days=37 * place)
    raise BakingError(f"A baked query takes {', '.join(k.__name__ for k in KINDS)}, not {kind}.")


def _check_kind(name: str, kind: type, value: Any) -> None:
    # A datetime is a date, and a bool an int, to Python; not to a baked query.
    wrong = (
        not isinstance(value, kind)
        or (kind is date and isinstance(value, datetime))
        or (kind is int and isinstance(value, bool))
        or (isinstance(value, datetime) and value.tzinfo is None)
    )
    if wrong:
        raise TypeError(f"{name} must be {'an aware ' if kind is datetime else ''}{kind.__name__}.")


def _as_is(value: Any) -> Any:
    return value


def _adapted(kind: type, value: Any, connection: BaseDatabaseWrapper) -> Any:
    """`value` as the ORM hands it to the database driver for a field of its kind."""
    if kind is datetime:
        return connection.ops.adapt_datetimefield_value(value)
    if kind is date:
        return connection.ops.adapt_datefield_value(value)
    return value


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # Each parameter: the name of the value that goes there, or None for a constant.
    places: tuple[str | None, ...]
    constants: tuple[Any, ...]
    # What each value is wrapped in for the driver, as the ORM wraps it (an int of a
    # smallint column in psycopg's Int2, say); `_as_is` for the rest.
    wrappers: tuple[Callable[[Any], Any], ...]
    # The converters of each column: {position: ([converter, ...], expression)}.
    converters: dict[int, tuple[list[Callable[..., Any]], Any]]
    make: Callable[[str, list[tuple[Any, ...]]], list[Any]]


class Baked(Generic[M]):
    """A query made by `build(**values)`, each value of the kind `kinds` names.

    `Baked(lambda *, key: Session.objects.filter(key=key), key=str).run(key="abc")`
    answers what `Session.objects.filter(key="abc")` would, as a list."""

    def __init__(self, build: Callable[..., QuerySet[M, Any]], **kinds: type) -> None:
        for kind in kinds.values():
            _stand_in(kind, 0, 0)  # Refuses an unknown kind at once.
        self.build, self.kinds = build, kinds
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def run(self, *, using: str = "default", **values: Any) -> list[Any]:
        if values.keys() != self.kinds.keys():
            raise TypeError(f"A baked query takes {sorted(self.kinds)}, given {sorted(values)}.")
        for name, value in values.items():
            _check_kind(name, self.kinds[name], value)
        # The SQL may hold the active time zone (a Trunc, a __date): one per zone.
        key = (using, timezone.get_current_timezone_name())
        compiled = self._compiled.get(key) or self._compile(key)
        connection = connections[using]
        params = [
            constant if name is None else wrap(_adapted(self.kinds[name], values[name], connection))
            for name, constant, wrap in zip(
                compiled.places, compiled.constants, compiled.wrappers, strict=True
            )
        ]
        with prepared_cursor(connection) as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = [_converted(row, compiled.converters, connection) for row in rows]
        return compiled.make(using, rows)

    def _compile(self, key: tuple[str, str]) -> _Compiled:
        using = key[0]
        first = _Compilation(self, using, variant=0)
        second = _Compilation(self, using, variant=1)
        if first.sql != second.sql or len(first.params) != len(second.params):
            raise BakingError("The query's SQL depends on the values given.")
        places: list[str | None] = []
        for one, other in zip(first.params, second.params, strict=True):
            name = first.name_of(one)
            if name is None and one != other:
                raise BakingError(
                    "A parameter is computed from a value given (or from the clock); "
                    f"make it a value of its own: {one!r} / {other!r}."
                )
            if name is not None and second.name_of(other) != name:
                raise BakingError(f"The value {name!r} goes to different places.")
            places.append(name)
        missing = set(self.kinds) - set(places)
        if missing:
            raise BakingError(
                f"The query does not use {sorted(missing)} as given (transformed by a lookup?)."
            )
        compiled = _Compiled(
            sql=first.sql,
            places=tuple(places),
            constants=tuple(
                None if name else value for name, value in zip(places, first.params, strict=True)
            ),
            wrappers=tuple(
                type(value) if isinstance(value, int) and type(value) is not int else _as_is
                for value in first.params
            ),
            converters=first.converters,
            make=first.maker(),
        )
        self._compiled[key] = compiled
        return compiled


class _Compilation:
    """The queryset built from one variant of stand-ins, compiled."""

    def __init__(self, baked: Baked[Any], using: str, variant: int) -> None:
        connection = connections[using]
        self.stand_ins = {
            name: _stand_in(kind, place, variant)
            for place, (name, kind) in enumerate(baked.kinds.items())
        }
        self.adapted = [
            (name, _adapted(baked.kinds[name], value, connection))
            for name, value in self.stand_ins.items()
        ]
        self.queryset = baked.build(**self.stand_ins).using(using)
        self.compiler = self.queryset.query.get_compiler(using=using)
        self.sql, params = self.compiler.as_sql()
        self.params: Sequence[Any] = tuple(params)
        fields = [column[0] for column in self.compiler.select[: self.compiler.col_count]]
        self.converters = self.compiler.get_converters(fields)

    def name_of(self, param: Any) -> str | None:
        for name, adapted in self.adapted:
            # An int may come wrapped for the driver (psycopg's Int2 for a smallint).
            if type(adapted) is int:
                same_kind = isinstance(param, int)
            else:
                same_kind = type(param) is type(adapted)
            if same_kind and param == adapted:
                return name
        return None

    def maker(self) -> Callable[[str, list[tuple[Any, ...]]], list[Any]]:
        """How rows become the queryset's answer (as its iterable class makes it)."""
        queryset: Any = self.queryset  # Its private parts, as Django's iterables read them.
        iterable = queryset._iterable_class
        if queryset._prefetch_related_lookups or queryset._known_related_objects:
            raise BakingError("A baked query has no prefetches nor a related manager's objects.")
        if iterable is FlatValuesListIterable:
            return lambda _using, rows: [row[0] for row in rows]
        if iterable is ValuesListIterable:
            return lambda _using, rows: [tuple(row) for row in rows]
        if iterable is ModelIterable:
            return _model_maker(self.compiler)
        raise BakingError(f"A baked query makes models or values_list rows, not {iterable}.")


def _model_maker(compiler: Any) -> Callable[[str, list[tuple[Any, ...]]], list[Any]]:
    # As django.db.models.query.ModelIterable makes its instances.
    select, klass_info, annotation_col_map = (
        compiler.select,
        compiler.klass_info,
        compiler.annotation_col_map,
    )
    model = klass_info["model"]
    select_fields = klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    attnames = [column[0].target.attname for column in select[start:end]]

    def make(using: str, rows: list[tuple[Any, ...]]) -> list[Any]:
        # django-stubs describe Django 6.0's signature, with a fetch mode.
        populators = get_related_populators(klass_info, select, using)  # type: ignore[call-arg]
        made = []
        for row in rows:
            instance = model.from_db(using, attnames, row[start:end])
            for populator in populators:
                populator.populate(row, instance)
            for name, place in annotation_col_map.items():
                setattr(instance, name, row[place])
            made.append(instance)
        return made

    return make


def _converted(
    row: tuple[Any, ...],
    converters: dict[int, tuple[list[Callable[..., Any]], Any]],
    connection: BaseDatabaseWrapper,
) -> tuple[Any, ...]:
    values = list(row)
    for place, (functions, expression) in converters.items():
        value = values[place]
        for function in functions:
            value = function(value, expression, connection)
        values[place] = value
    return tuple(values)
