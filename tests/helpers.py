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


def new_patient(**overrides: object) -> dict[str, object]:
    """What reception fills in to register Anna Smith: the page's form fields, or the
    API's body. `overrides` change fields or add others."""
    data = {
        "given_name": "Anna",
        "family_name": "Smith",
        "date_of_birth": "1984-03-12",
        "sex": "female",
        "phone": "(202) 555-0161",
        "email": "anna@example.com",
        "address": "12 River Road",
        "national_id": "",
        "notes": "",
    }
    return {**data, **overrides}
