from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OnlineConfig(AppConfig):
    name = "online"
    verbose_name = _("Patients online")

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the waitlist to scheduling's signals)
