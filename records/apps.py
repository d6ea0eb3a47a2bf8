from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = "Medical records"

    def ready(self) -> None:
        # Connects the receivers of the sessions' signals.
        from . import receivers  # noqa: F401
