from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = "Clinical sessions"

    def ready(self) -> None:
        # Connects the answers to the patients' merge.
        from . import receivers  # noqa: F401
