from django.apps import AppConfig


class ClinicConfig(AppConfig):
    """The project package, installed as an app for its templates tags and roles."""

    name = "clinic"
    verbose_name = "Clinic"
