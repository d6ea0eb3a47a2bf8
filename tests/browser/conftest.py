"""Browser tests: Debian's Chromium, driven by Playwright, against pytest-django's
`live_server`.

Every test under tests/browser is marked `browser`: run only these with
`make test PYTEST_ARGS="-m browser"`, or leave them out with `-m "not browser"`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.urls import reverse
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.factories import TEST_PASSWORD

# CI installs Debian's chromium (.ci/run); Playwright never downloads a browser here.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # No internet on the test machines: without these Chromium keeps calling home.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Nor the background work of a person's browser, which no test looks at.
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-component-extensions-with-background-pages",
    "--disable-software-rasterizer",
    "--disable-breakpad",
    "--mute-audio",
    "--disable-features=Translate,MediaRouter,OptimizationHints,"
    "AutofillServerCommunication,CertificateTransparencyComponentUpdater",
]
# Milliseconds. A page of this app renders in far less; a wait this long is a bug.
TIMEOUT_MS = 10_000

BROWSER_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Hooks of a conftest see the whole session's items, not only this folder's.
    for item in items:
        if item.path.is_relative_to(BROWSER_DIR):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def playwright(django_db_setup) -> Iterator[Playwright]:
    """Playwright for all the browser tests, set up after the test database.

    Package scope rather than session scope: pytest-django runs the transactional
    tests (these) after the other database tests but before the tests without a
    database; those should not run with Playwright's event loop around (below).
    """
    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API runs an asyncio event loop in this (the main) thread
        # and leaves it marked as running between calls, for as long as Playwright
        # runs. Django then takes every ORM call of the test itself (factories,
        # asserts, the database flush after each test) for a call from async code and
        # raises SynchronousOnlyOperation. These calls are plain synchronous code that
        # never runs concurrently with that loop, which is the case Django's
        # DJANGO_ALLOW_ASYNC_UNSAFE is documented for. Set only while Playwright runs.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        # The same running loop makes django.db.connections, which is thread-local in
        # sync code, also context-local: the main thread would get fresh connection
        # objects from here on. Those lack what the test database setup left on the
        # originals (the data that the serialized rollback restores), so keep using
        # the originals.
        originals = {connection.alias: connection for connection in connections.all()}
        with sync_playwright() as started:
            for alias, connection in originals.items():
                connections[alias] = connection
            yield started


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One Chromium for all the browser tests."""
    if not os.access(CHROMIUM, os.X_OK):
        # A failure, not a skip: CI installs chromium, so a missing one is a broken
        # machine, and a skipped browser suite would pass unnoticed.
        pytest.fail(
            f"Browser tests need Debian's Chromium at {CHROMIUM}, which is missing: "
            "install it with `apt-get install chromium` (Playwright must not download one).",
            pytrace=False,
        )
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield chromium
    chromium.close()


@pytest.fixture(autouse=True)
def _live_database(live_server, django_db_serialized_rollback) -> None:
    """Every browser test talks to the live server, on a transactional database
    (the server's thread cannot see data inside the test's transaction) that holds
    the migrations' data."""


def new_context(browser: Browser, live_server) -> BrowserContext:
    """A fresh browser context (no cookies), with URLs relative to the live server."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    # Chromium fetches /favicon.ico on its own after a page loads; on the server that
    # request would race with the test's next step and with the flush at its end.
    # The app has no favicon, so answer it here.
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    return context


def sign_in(page: Page, user: User, password: str = TEST_PASSWORD) -> Page:
    """Signs a staff user in through the real login form; returns the page."""
    page.goto(reverse("login"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    name = user.get_full_name() or user.username
    expect(page.get_by_role("alert").filter(has_text=f"Signed in as {name}.")).to_be_visible()
    return page


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    """A fresh browser context per test."""
    context = new_context(browser, live_server)
    yield context.new_page()
    context.close()


@pytest.fixture
def log_in(page: Page) -> Callable[..., Page]:
    """Signs a staff user in on the test's page; returns the page."""

    def log_in_as(user: User, password: str = TEST_PASSWORD) -> Page:
        return sign_in(page, user, password)

    return log_in_as


@pytest.fixture
def signed_in(browser: Browser, live_server) -> Iterator[Callable[[User], Page]]:
    """For tests with several people at once: each call opens a page in a context of
    its own (its own cookies), signed in as `user`."""
    contexts: list[BrowserContext] = []

    def open_as(user: User) -> Page:
        contexts.append(context := new_context(browser, live_server))
        return sign_in(context.new_page(), user)

    yield open_as
    for context in contexts:
        context.close()
