from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import DoctorFactory, ManagerFactory, ReceptionistFactory


@pytest.fixture
def receptionist(db):
    return ReceptionistFactory(first_name="Rita", last_name="Owens")


@pytest.fixture
def doctor(db):
    return DoctorFactory(given_name="Alan", family_name="Smith")


@pytest.fixture
def manager(db):
    return ManagerFactory(first_name="Maria", last_name="Lopez")


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def reception_client(receptionist) -> Client:
    return _client_for(receptionist)


@pytest.fixture
def doctor_client(doctor) -> Client:
    return _client_for(doctor.user)


@pytest.fixture
def manager_client(manager) -> Client:
    return _client_for(manager)
