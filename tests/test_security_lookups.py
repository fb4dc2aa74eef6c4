"""The logged-in user and second-factor device come from the cache, and are forgotten the
moment they change: a deactivated user, a new password or a removed device count at once."""

import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from journey.security import lookups
from journey.security.testing import force_login_verified
from tests import factories_portal_tracker as fp

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def login_cache(settings):
    """On, as with Redis (off with a per-process cache; one test process shares it anyway)."""
    settings.WAYPOINT_LOGIN_CACHE_SECONDS = 300


SESSION = 0 if settings.SESSION_ENGINE.endswith("cached_db") else 1
HOME = reverse("portal:home")
ADMIN = reverse("admin:index")


@pytest.fixture
def guardian(center_a):
    guardian = fp.guardian_with_login(center_a, "parent@example.org")
    fp.child_of(guardian, first_name="Ana")
    return guardian


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_a_warm_page_reads_neither_user_nor_device(client, coordinator_a):
    force_login_verified(client, coordinator_a)
    client.get(ADMIN)
    with CaptureQueriesContext(connection) as ctx:
        client.get(ADMIN)
    sql = " ".join(q["sql"] for q in ctx.captured_queries)
    assert "otp_totp_totpdevice" not in sql
    assert f'"journey_user"."id" = {coordinator_a.pk}' not in sql


def test_a_guardian_page_costs_no_query_for_the_login(client, guardian):
    client.force_login(guardian.user)
    client.get(HOME)
    assert queries(client, HOME) == SESSION


def test_a_deactivated_user_is_logged_out_on_the_next_request(client, guardian):
    client.force_login(guardian.user)
    assert client.get(HOME).status_code == 200
    guardian.user.is_active = False
    guardian.user.save()
    response = client.get(HOME)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_new_password_ends_the_other_sessions(client, guardian):
    client.force_login(guardian.user)
    assert client.get(HOME).status_code == 200
    guardian.user.set_password("a new long passphrase 42")
    guardian.user.save()
    assert client.get(HOME).status_code == 302


def test_a_removed_device_is_no_longer_a_second_factor(client, coordinator_a):
    device = force_login_verified(client, coordinator_a)
    assert client.get(ADMIN).status_code == 200
    TOTPDevice.objects.filter(pk=device.pk).get().delete()
    response = client.get(ADMIN)
    assert response.status_code == 302  # asked for a code again


def test_a_row_is_served_from_the_cache_until_it_is_forgotten():
    kind = f"test-{uuid.uuid4().hex}"
    assert lookups.cached_row(kind, 1, lambda: "old") == "old"
    assert lookups.cached_row(kind, 1, lambda: "new") == "old"
    lookups.forget(kind, 1)
    assert lookups.cached_row(kind, 1, lambda: "new") == "new"


def test_a_row_read_while_a_change_commits_is_not_served_after_it():
    """The reader took its token before the change; what it stores is filed under a dead one."""
    kind = f"test-{uuid.uuid4().hex}"

    def read_during_the_change():
        lookups.forget(kind, 1)  # the writer commits while this reader is reading
        return "old"

    assert lookups.cached_row(kind, 1, read_during_the_change) == "old"
    assert lookups.cached_row(kind, 1, lambda: "new") == "new"
