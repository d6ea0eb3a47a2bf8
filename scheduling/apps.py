from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        # Connects the answers to the patients' merge.
        from . import receivers  # noqa: F401
