from django.apps import AppConfig


class ClinicConfig(AppConfig):
    """The project package, installed as an app for its models (API tokens and their
    idempotency keys, the worker's heartbeat), its migrations (the roles, the
    schedules), its management commands and its signal receivers."""

    name = "clinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        import clinic.tasks  # noqa: F401  (connects the task log's receivers)
        from clinic import (
            auth_log,  # noqa: F401  (connects the sign-in log's receivers)
            idle_sessions,  # noqa: F401  (signing in is activity)
            languages,  # noqa: F401  (signing in applies the user's language)
        )
