"""Trigram indexes for reception's substring search on PostgreSQL.

Django's `icontains` compares UPPER(column::text), so the indexes are built on that
expression. SQLite (development only) skips them.
"""

from django.db import migrations

from clinic.kernel.db import PostgreSQLExtension, RunSQLOnPostgreSQL

SEARCHED = {
    "patient_given_name_trgm": "given_name",
    "patient_family_name_trgm": "family_name",
    "patient_phone_trgm": "phone",
}


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_role_permissions")]

    operations = [
        PostgreSQLExtension("pg_trgm"),
        *(
            RunSQLOnPostgreSQL(
                sql=f"CREATE INDEX {name} ON patients_patient USING gin (UPPER({column}::text) gin_trgm_ops)",
                reverse_sql=f"DROP INDEX {name}",
            )
            for name, column in SEARCHED.items()
        ),
    ]
