"""Clients of the JSON API: each sends a real token, made as a manager would."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from clinic.tokens import issue_token


@pytest.fixture
def api_client() -> Callable[..., Client]:
    """`api_client(user)`: a client whose every request carries a Bearer token of
    `user`; `api_client(None)` sends no token."""

    def client_for(user) -> Client:
        if user is None:
            return Client()
        _, token = issue_token(user=user, name="tests")
        return Client(headers={"Authorization": f"Bearer {token}"})

    return client_for


@pytest.fixture
def reception_api(api_client, receptionist) -> Client:
    return api_client(receptionist)


@pytest.fixture
def doctor_api(api_client, doctor) -> Client:
    return api_client(doctor.user)


@pytest.fixture
def manager_api(api_client, manager) -> Client:
    return api_client(manager)
