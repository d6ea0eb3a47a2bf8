from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = "Patients"

    def ready(self) -> None:
        connection_created.connect(forgive_typos, dispatch_uid="patients.forgive_typos")


def forgive_typos(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Set how close a typed word must be to a name for patient search on this
    PostgreSQL connection (pg_trgm's default, 0.6, misses one slip in a short name).
    A connection that never got it (a pooler handing out another server
    connection) only matches a little less, never wrongly."""
    if connection.vendor != "postgresql":
        return
    from .selectors import WORD_SIMILARITY_THRESHOLD

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', %s, false)",
            [str(WORD_SIMILARITY_THRESHOLD)],
        )
