"""Settings come from the environment and refuse an unsafe production start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PRINT_SETTINGS = (
    "from django.conf import settings; "
    "db = settings.DATABASES['default']; "
    "print(settings.DEBUG, db['ENGINE'], db.get('OPTIONS', {}).get('transaction_mode'), "
    "settings.SECRET_KEY.startswith('django-insecure'), settings.Q_CLUSTER.get('orm'))"
)


def load_settings(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter with only the given variables (and
    an empty .env), as a server process would."""
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "ENV_FILE": str(env_file),
        **variables,
    }
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {PRINT_SETTINGS}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_start_without_secret_key_is_refused(tmp_path):
    result = load_settings(tmp_path, DEBUG="false")

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_off_is_the_default_so_a_bare_start_is_refused(tmp_path):
    result = load_settings(tmp_path)

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


@pytest.fixture(scope="module")
def development_start(tmp_path_factory) -> subprocess.CompletedProcess[str]:
    """A development start (DEBUG on, nothing else set), which two tests read."""
    return load_settings(tmp_path_factory.mktemp("development"), DEBUG="true")


def test_development_uses_a_development_key_when_debug_is_on(development_start):
    result = development_start

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:1] == ["True"]
    assert result.stdout.split()[3] == "True"


def test_production_with_a_secret_key_starts_with_debug_off(tmp_path):
    result = load_settings(tmp_path, SECRET_KEY="a-long-random-production-secret")

    assert result.returncode == 0, result.stderr
    debug, _, _, insecure_key, _ = result.stdout.split()
    assert debug == "False"
    assert insecure_key == "False"


def test_no_database_url_means_sqlite_with_immediate_transactions(development_start):
    result = development_start

    _, engine, transaction_mode, _, orm_broker = result.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert transaction_mode == "IMMEDIATE"
    assert orm_broker == "default"


def test_database_url_selects_postgresql(tmp_path):
    result = load_settings(
        tmp_path, DEBUG="true", DATABASE_URL="postgres://postgres@127.0.0.1:5432/clinic"
    )

    assert result.returncode == 0, result.stderr
    # Django's backend, with a health check that needs no round trip (clinic/postgresql).
    assert result.stdout.split()[1] == "clinic.postgresql"


def test_unknown_worker_broker_is_refused(tmp_path):
    result = load_settings(tmp_path, DEBUG="true", Q_BROKER="rabbit")

    assert result.returncode != 0
    assert "Q_BROKER must be 'orm' or 'redis'" in result.stderr


def test_dot_env_file_is_read(tmp_path):
    env_file = tmp_path / "clinic.env"
    env_file.write_text("DEBUG=true\nCLINIC_NAME=Hillside Practice\n")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.CLINIC_NAME)",
        ],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            "ENV_FILE": str(env_file),
        },
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Hillside Practice"


def manage(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """manage.py in a fresh interpreter with DEBUG off and no SECRET_KEY, as on a
    fresh clone."""
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "ENV_FILE": str(env_file)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_makemigrations_check_runs_without_a_secret_key(tmp_path):
    result = manage(tmp_path, "makemigrations", "--check", "--dry-run")

    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout


def test_a_command_that_serves_or_signs_is_still_refused_without_a_key(tmp_path):
    result = manage(tmp_path, "check")

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
