"""The shape of DESIGN.md section 1, as a person meets it: every app's API module can
be imported first (the kernel it builds on imports no app, so there is no cycle to
trip on), and the import contracts hold (the same `lint-imports` CI runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
API_MODULES = [
    "doctors.api",
    "patients.api",
    "scheduling.api",
    "scheduling.api_catalogue",
    "sessions_app.api",
    "payments.api",
]


@pytest.mark.parametrize("module", API_MODULES)
def test_each_apps_api_module_imports_first_in_a_fresh_process(module):
    program = (
        "import django; django.setup(); "
        f"import importlib; importlib.import_module({module!r}); print('imported')"
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "SECRET_KEY": "architecture-test-only",
    }
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "imported" in done.stdout


def test_the_import_contracts_hold():
    linter = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(linter)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
