from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        # Connects the receivers of the sessions' signals.
        from . import receivers  # noqa: F401
