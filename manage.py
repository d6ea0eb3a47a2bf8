#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys

# Commands that only read the code (models, migrations, static files) and never sign,
# serve or send: they run without SECRET_KEY, which settings then make up for them
# and throw away. Every other command, like a server, is refused without one.
KEYLESS_COMMANDS = frozenset({"makemigrations", "showmigrations", "sqlmigrate", "collectstatic"})


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    if sys.argv[1:2] and sys.argv[1] in KEYLESS_COMMANDS:
        os.environ["CLINIC_KEYLESS_COMMAND"] = sys.argv[1]
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
