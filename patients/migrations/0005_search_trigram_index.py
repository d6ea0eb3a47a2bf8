"""PostgreSQL's typo-tolerant, ranked search on the stored normalised name.

The trigram index on search_text serves both the substring match (LIKE) and the
word-similarity match (%>) of patients.selectors; it replaces the two indexes on the
raw name columns, which search no longer reads. unaccent is there for the check that
PostgreSQL's idea of an accent agrees with patients.normalise (tests). SQLite skips
all of it and searches the same column without an index.
"""

from django.db import migrations

from clinic.kernel.db import PostgreSQLExtension, RunSQLOnPostgreSQL


class Migration(migrations.Migration):
    dependencies = [("patients", "0004_merge_search_optional_phone")]

    operations = [
        PostgreSQLExtension("unaccent"),
        PostgreSQLExtension("pg_trgm"),
        RunSQLOnPostgreSQL(
            sql="CREATE INDEX patient_search_text_trgm ON patients_patient "
            "USING gin (search_text gin_trgm_ops)",
            reverse_sql="DROP INDEX patient_search_text_trgm",
        ),
        # The search's "or that national ID" compares UPPER(national_id); indexed,
        # so that the whole search can use indexes.
        RunSQLOnPostgreSQL(
            sql="CREATE INDEX patient_national_id_upper ON patients_patient "
            "(UPPER(national_id::text))",
            reverse_sql="DROP INDEX patient_national_id_upper",
        ),
        *(
            RunSQLOnPostgreSQL(
                sql=f"DROP INDEX {name}",
                reverse_sql=f"CREATE INDEX {name} ON patients_patient "
                f"USING gin (UPPER({column}::text) gin_trgm_ops)",
            )
            for name, column in {
                "patient_given_name_trgm": "given_name",
                "patient_family_name_trgm": "family_name",
            }.items()
        ),
    ]
