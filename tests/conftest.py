from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.db import connections
from django.test import Client
from django.utils import translation
from pytest_django.plugin import blocking_manager_key, validate_django_db

from doctors.models import Doctor, Weekday
from patients.models import Patient
from scheduling.models import Service
from tests.factories import (
    DoctorFactory,
    ManagerFactory,
    PatientFactory,
    ReceptionistFactory,
    ServiceFactory,
    with_working_hours,
)
from tests.fakes import twilio as twilio_fake
from tests.fakes.twilio import FakeTwilio
from tests.helpers import signed_in

# The modules that take longest, longest first (measured with --durations); a
# folder stands for all its modules, kept together so that a worker starts the
# browser once. Under pytest-xdist each worker takes whole modules off one queue
# (make test); starting with these keeps a worker from running a long one alone at
# the end. Only an order: a module missing here runs all the same, after them.
LONGEST_FIRST = [
    "tests/test_load_data.py",
    "tests/browser/",
    "tests/test_security.py",
    "tests/test_payment_pages.py",
    "tests/test_stripe_webhooks.py",
    "tests/test_settings.py",
    "tests/test_architecture.py",
    "tests/api/test_api_appointments.py",
    "tests/test_notification_worker.py",
    "tests/test_booking_concurrency.py",
]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a pytest-xdist worker: each module's tests together, in the order above,
    then the other modules; among equals, the one with most tests first (as
    pytest-xdist orders them itself). Within a module the order stays pytest-django's
    (transactional tests last).

    Everywhere: refuses a collection where two tests share a node id. pytest-xdist
    would run only one of them, silently (schemathesis's per-operation tests did,
    under pytest 9.2, which names them all after the function)."""
    _refuse_shared_node_ids(items)
    if not hasattr(config, "workerinput"):
        return
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], []).append(item)

    def rank(module: str) -> tuple[int, int]:
        first = next(
            (place for place, path in enumerate(LONGEST_FIRST) if module.startswith(path)),
            len(LONGEST_FIRST),
        )
        return first, -len(modules[module])

    items[:] = [item for module in sorted(modules, key=rank) for item in modules[module]]


def _refuse_shared_node_ids(items: list[pytest.Item]) -> None:
    counts = Counter(item.nodeid for item in items)
    shared = sorted(nodeid for nodeid, count in counts.items() if count > 1)
    if shared:
        raise pytest.UsageError(f"Tests share node ids, so some would not run: {shared[:5]}")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    """Every factory user gets a password; the real hasher is slow on purpose
    (a third of a second each), which the tests do not need."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def clinic_language() -> Iterator[None]:
    """Each test starts in the clinic's language. A request leaves its language active
    in the thread (LocaleMiddleware activates it and nothing resets it: a server's next
    request activates its own), so a test after an Arabic page would get Arabic from
    every service it calls directly."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def receptionist(db):
    return ReceptionistFactory(first_name="Rita", last_name="Owens")


@pytest.fixture
def doctor(db):
    return DoctorFactory(given_name="Alan", family_name="Smith")


@pytest.fixture
def manager(db):
    return ManagerFactory(first_name="Maria", last_name="Lopez")


@pytest.fixture
def reception_client(receptionist) -> Client:
    return signed_in(receptionist)


@pytest.fixture
def doctor_client(doctor) -> Client:
    return signed_in(doctor.user)


@pytest.fixture
def manager_client(manager) -> Client:
    return signed_in(manager)


# The people and the service of most scenes. A module whose scene differs (other
# hours for Dr Smith, a phone number Jane's texts go to) defines its own fixture of
# the same name, which pytest uses instead.


@pytest.fixture
def smith(doctor) -> Doctor:
    """Dr Alan Smith (the `doctor`), working Mondays 09:00 to 17:00."""
    return with_working_hours(doctor, Weekday.MONDAY)


@pytest.fixture
def jones(db) -> Doctor:
    """Dr Grace Jones, working Mondays 09:00 to 17:00."""
    return with_working_hours(
        DoctorFactory(given_name="Grace", family_name="Jones"), Weekday.MONDAY
    )


@pytest.fixture
def jane(db) -> Patient:
    return PatientFactory(given_name="Jane", family_name="Doe")


@pytest.fixture
def bob(db) -> Patient:
    return PatientFactory(given_name="Bob", family_name="Brown")


@pytest.fixture
def consultation(db) -> Service:
    """A 30-minute consultation at 80.00."""
    return ServiceFactory(code="consult", name="Consultation", duration_minutes=30)


# --- The migrations' data around transactional tests ---------------------------
#
# A transactional test commits for real and ends by emptying every table, the
# roles' groups and the dispatch schedule that the migrations wrote included. With a
# serialized rollback it empties them without recreating anything, and the next such
# test loads the migrations' data back at its start; without one, Django recreates
# the content types and permissions (under other ids) and nothing else. Under
# pytest-xdist a worker may run any module after any other, so after a transactional
# test the migrations' data goes back at once: unless both it and the next test have
# a serialized rollback, as Django's own runner would have them follow each other.


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    result = yield
    if nextitem is not None and _database_use(item)[0]:
        reloads_it_itself = _database_use(item) == _database_use(nextitem) == (True, True)
        if not reloads_it_itself:
            with item.config.stash[blocking_manager_key].unblock():
                _restore_migrated_data()
    return result


@pytest.fixture(scope="module")
def migrated_data_restored() -> None:
    """Asked for by modules written before the hook above, which now does what this
    fixture did (the migrations' data back after their transactional tests)."""


def _database_use(item: pytest.Item) -> tuple[bool, bool]:
    """Whether the test is transactional, and whether it has a serialized rollback:
    pytest-django's own reading of its marker and fixtures."""
    transaction = reset_sequences = serialized_rollback = False
    if marker := item.get_closest_marker("django_db"):
        transaction, reset_sequences, _, serialized_rollback, _ = validate_django_db(marker)
    fixtures = getattr(item, "fixturenames", ())
    transactional = (
        transaction
        or reset_sequences
        or not {"transactional_db", "live_server", "django_db_reset_sequences"}.isdisjoint(fixtures)
    )
    serialized_rollback = serialized_rollback or "django_db_serialized_rollback" in fixtures
    return transactional, transactional and serialized_rollback


def _serialized_contents() -> dict[str, str]:
    """The migrations' data of each test database, as Django serialized it after
    migrating (only when some test of the run uses `serialized_rollback`)."""
    return {
        connection.alias: connection._test_serialized_contents
        for connection in connections.all()
        if hasattr(connection, "_test_serialized_contents")
    }


def _restore_migrated_data() -> None:
    for alias, contents in _serialized_contents().items():
        _flush(alias)
        connections[alias].creation.deserialize_db_from_string(contents)


def _flush(alias: str) -> None:
    call_command("flush", database=alias, interactive=False, inhibit_post_migrate=True, verbosity=0)


@pytest.fixture
def fake_twilio(settings) -> Iterator[FakeTwilio]:
    """A local fake of Twilio's API, with the settings that point the real `twilio`
    client at it and make SMS go through Twilio rather than the console."""
    fake = FakeTwilio().start()
    settings.TWILIO_ACCOUNT_SID = twilio_fake.ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = twilio_fake.AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER = twilio_fake.FROM_NUMBER
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_API_BASE_URL = fake.url
    settings.PUBLIC_BASE_URL = "https://clinic.example.test"
    settings.NOTIFICATION_CHANNELS = {
        **settings.NOTIFICATION_CHANNELS,
        "sms": "notifications.channels.TwilioSMS",
    }
    yield fake
    fake.stop()


# Payments.

from tests.fakes import stripe as stripe_fake  # noqa: E402
from tests.fakes.stripe import FakeStripe  # noqa: E402


@pytest.fixture
def fake_stripe(settings) -> Iterator[FakeStripe]:
    """A local fake of Stripe's API, with the settings that point the real `stripe`
    client at it (no retries: a test scripts each answer) and sign its webhooks."""
    fake = FakeStripe().start()
    settings.STRIPE_SECRET_KEY = stripe_fake.SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = stripe_fake.WEBHOOK_SECRET
    settings.STRIPE_API_BASE_URL = fake.url
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.PUBLIC_BASE_URL = "https://clinic.example.test"
    yield fake
    fake.stop()
