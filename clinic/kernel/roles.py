"""The clinic's roles: Django groups created and granted by data migrations.

Each app grants its own models' permissions in a migration of its own, so a role's
rights are declared next to the models they cover (see `grant_permissions`).
"""

from __future__ import annotations

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

RECEPTION = "Reception"
DOCTORS = "Doctors"
MANAGERS = "Managers"
ALL_ROLES = (RECEPTION, DOCTORS, MANAGERS)


def grant_permissions(apps: StateApps, app_label: str, grants: dict[str, list[str]]) -> None:
    """Create the role groups if needed and give each the named permissions.

    `grants` maps a role to codenames of `app_label`'s permissions. Meant for
    `RunPython` with the migration's historical `apps`: Django only creates
    permissions after all migrations, so this creates the app's permissions first.
    """
    app_config = apps.get_app_config(app_label)
    # Historical app configs carry no models module, which create_permissions
    # takes as "nothing to do".
    app_config.models_module = True  # type: ignore[assignment]  # any true value will do
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role in ALL_ROLES:
        Group.objects.get_or_create(name=role)
    for role, codenames in grants.items():
        permissions = Permission.objects.filter(
            content_type__app_label=app_label, codename__in=codenames
        )
        missing = set(codenames) - {permission.codename for permission in permissions}
        if missing:
            raise LookupError(f"{app_label} has no permissions {sorted(missing)}")
        Group.objects.get(name=role).permissions.add(*permissions)


def revoke_permissions(apps: StateApps, app_label: str, grants: dict[str, list[str]]) -> None:
    """Undo `grant_permissions` for a migration going backwards."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in grants.items():
        permissions = Permission.objects.filter(
            content_type__app_label=app_label, codename__in=codenames
        )
        for group in Group.objects.filter(name=role):
            group.permissions.remove(*permissions)


def grant_operation(app_label: str, grants: dict[str, list[str]]) -> migrations.RunPython:
    """The migration operation that grants (and, backwards, revokes) `grants`."""

    def grant(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        grant_permissions(apps, app_label, grants)

    def revoke(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        revoke_permissions(apps, app_label, grants)

    return migrations.RunPython(grant, revoke)
