"""Rows of several tables, each named by its id, read in one query.

An API write names its objects by id (a booking's patient, doctor and service):
reading them one by one costs a round trip each, and the write's own queries come
after. `rows_by_id` reads them together, as one row of LEFT JOINs from a single
constant row, so a missing id is a NULL part of the answer (None), never a missing
answer. Each part becomes a model instance as the ORM would make it (the database's
converters applied: SQLite's booleans, dates and decimals)."""

from __future__ import annotations

from typing import Any, TypeVar, overload

from django.db import connections, router
from django.db.models import Field, Model

from .db import prepared_cursor

A = TypeVar("A", bound=Model)
B = TypeVar("B", bound=Model)
C = TypeVar("C", bound=Model)


@overload
def rows_by_id(
    first: tuple[type[A], int], second: tuple[type[B], int], /
) -> tuple[A | None, B | None]: ...


@overload
def rows_by_id(
    first: tuple[type[A], int], second: tuple[type[B], int], third: tuple[type[C], int], /
) -> tuple[A | None, B | None, C | None]: ...


def rows_by_id(*wanted: tuple[type[Model], int]) -> tuple[Model | None, ...]:
    """The row of each (model, id), or None where no row has that id, in one query."""
    models = [model for model, _pk in wanted]
    alias = router.db_for_read(models[0])
    connection = connections[alias]
    quote = connection.ops.quote_name
    columns: list[str] = []
    joins: list[str] = []
    for place, model in enumerate(models):
        table = f"t{place}"
        columns += [f"{table}.{quote(_column(field))}" for field in model._meta.concrete_fields]
        joins.append(
            f"LEFT JOIN {quote(model._meta.db_table)} {table} "
            f"ON {table}.{quote(_column(model._meta.pk))} = %s"
        )
    sql = f"SELECT {', '.join(columns)} FROM (SELECT 1 AS one) here {' '.join(joins)}"
    # The same SQL for the same models: prepared where the backend can.
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, [pk for _model, pk in wanted])
        values = list(cursor.fetchone() or ())
    found: list[Model | None] = []
    for model in models:
        fields = model._meta.concrete_fields
        own, values = values[: len(fields)], values[len(fields) :]
        found.append(_instance(model, alias, own) if own[_pk_place(model)] is not None else None)
    return tuple(found)


def _column(field: Field) -> str:
    assert field.column is not None  # Concrete fields have a column.
    return field.column


def _pk_place(model: type[Model]) -> int:
    return [field.attname for field in model._meta.concrete_fields].index(model._meta.pk.attname)


def _instance(model: type[Model], alias: str, values: list[Any]) -> Model:
    connection = connections[alias]
    converted = []
    for field, value in zip(model._meta.concrete_fields, values, strict=True):
        column = field.get_col(model._meta.db_table)
        for convert in connection.ops.get_db_converters(column) + field.get_db_converters(
            connection
        ):
            value = convert(value, column, connection)
        converted.append(value)
    return model.from_db(alias, [field.attname for field in model._meta.concrete_fields], converted)
