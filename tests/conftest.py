"""Shared fixtures: persona users, the real catalogue, and real services."""

import os
import uuid

import pytest
import time_machine
from django.core.management import call_command

from tests import factories as f

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(autouse=True, scope="session")
def _test_clock():
    """WAYPOINT_TEST_CLOCK=2026-11-26T02:30Z runs the suite from that instant (the clock ticks).

    Finds tests that pass only at some hours, e.g. between 00:00 and 05:00 UTC, when
    New York is still on the day before. Processes the suite starts do not see it.
    """
    start = os.environ.get("WAYPOINT_TEST_CLOCK")
    if not start:
        yield
        return
    with time_machine.travel(start, tick=True):
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Hashing strength is tested where it matters; everywhere else it only costs time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(settings):
    """Each test counts its own requests: rate-limit counters never leak between tests."""
    settings.RATELIMIT_CACHE_PREFIX = f"rl:{uuid.uuid4().hex}:"


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request's LocaleMiddleware leaves its
    language active in the thread, so a Spanish page in one test would otherwise make the
    next test's messages Spanish."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


def otp_login(client, user):
    """force_login plus a passed second factor, as the admin requires (journey/security)."""
    from journey.security.testing import force_login_verified

    return force_login_verified(client, user)


@pytest.fixture
def admin_client(client, admin_user):
    """pytest-django's admin_client, with the second factor passed."""
    otp_login(client, admin_user)
    return client


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the therapy catalogue once per test database."""
    with django_db_blocker.unblock():
        call_command("load_catalogue", verbosity=0)
        call_command("load_labs", verbosity=0)


@pytest.fixture
def center_a(db):
    return f.CenterFactory(name="Center A")


@pytest.fixture
def center_b(db):
    return f.CenterFactory(name="Center B", time_zone="Europe/London")


@pytest.fixture
def coordinator_a(center_a):
    return f.CoordinatorFactory(email="coord.a@example.org", center=center_a)


@pytest.fixture
def coordinator_b(center_b):
    return f.CoordinatorFactory(email="coord.b@example.org", center=center_b)


@pytest.fixture
def superuser(db):
    return f.UserFactory(email="root@example.org", is_staff=True, is_superuser=True)


def require_service(name, reachable):
    """Skip locally when a service is absent; in CI a missing service fails the run."""
    if reachable:
        return
    if IN_CI:
        pytest.fail(f"{name} is required in CI but is not reachable")
    pytest.skip(f"{name} not reachable")
