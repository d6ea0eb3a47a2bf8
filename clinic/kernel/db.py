"""Database pieces that exist on PostgreSQL only, declared so SQLite skips them, and
the prepared cursor where the backend has one."""

from __future__ import annotations

from django.contrib.postgres.operations import CreateExtension
from django.db import migrations
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.backends.utils import CursorWrapper
from django.db.migrations.state import ProjectState


class RunSQLOnPostgreSQL(migrations.RunSQL):
    """RunSQL for PostgreSQL-only DDL (trigram indexes and the like).

    The development database may be SQLite, which has no such DDL; there the
    operation does nothing and queries simply run without the index.
    """

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class PostgreSQLExtension(CreateExtension):
    """CREATE EXTENSION on PostgreSQL, nothing elsewhere, in both directions (Django's
    own operation skips other databases going forwards but not backwards)."""

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def prepared_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor that prepares its statement where the backend offers one (clinic's
    PostgreSQL backend, clinic/postgresql: the database parses and plans it once per
    connection), else Django's own. For SQL that is the same on every call, with
    plain values (ints, strings, dates, aware datetimes) as its parameters."""
    prepared = getattr(connection, "prepared_cursor", None)
    return prepared() if prepared is not None else connection.cursor()
