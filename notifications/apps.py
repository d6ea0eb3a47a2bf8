from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Connects the rules: receivers of the scheduling and sessions signals.
        from . import receivers, rules  # noqa: F401
