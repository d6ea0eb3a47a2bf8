"""The access log is append-only in the database too (DESIGN.md section 6): on
PostgreSQL a trigger refuses every UPDATE and DELETE of its rows, whoever sends
them (the app, a shell, raw SQL), so nobody rewrites the history of who read what.

What it leaves alone, on purpose: INSERT (the log grows); TRUNCATE, which fires no
row trigger (Django's test flush empties tables that way; keeping the clinic's own
database role from truncating or dropping the table is the deployment's part); and
SQLite, the development database, whose test flush deletes rows with DELETE, so a
trigger there would break every transactional test. A later migration that must
change rows (a backfill) has to drop the trigger and say why.
"""

from django.db import migrations

from clinic.kernel.db import RunSQLOnPostgreSQL

CREATE = """
CREATE FUNCTION records_accesslog_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'records_accesslog is append-only: % refused', TG_OP
        USING HINT = 'Entries of the access log are never changed or deleted.';
END;
$$;

CREATE TRIGGER records_accesslog_append_only
    BEFORE UPDATE OR DELETE ON records_accesslog
    FOR EACH ROW EXECUTE FUNCTION records_accesslog_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS records_accesslog_append_only ON records_accesslog;
DROP FUNCTION IF EXISTS records_accesslog_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("records", "0004_emergency_access")]

    operations = [RunSQLOnPostgreSQL(CREATE, reverse_sql=DROP)]
