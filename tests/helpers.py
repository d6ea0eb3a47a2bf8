"""Small helpers that many test modules share (fixtures live in tests/conftest.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.test import Client

# For tests whose data other threads, processes or a live server must see: each test
# commits for real and ends by emptying the tables; the serialized rollback puts the
# migrations' data (the roles' groups that the factories use) back before the next,
# and tests/conftest.py after the last.
COMMITTED_DATA = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def postgresql_only(reason: str) -> pytest.MarkDecorator:
    """Skips the test (or module) on any other database, saying why."""
    return pytest.mark.skipif(connection.vendor != "postgresql", reason=reason)


def signed_in(user: AbstractBaseUser) -> Client:
    """A test client signed in as `user` (without the login form)."""
    client = Client()
    client.force_login(user)
    return client
