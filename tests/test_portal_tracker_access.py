"""Every tracker portal URL: another family's child is a 404, anonymous goes to log in.

GIVEN guardian A with Maya and guardian B with Leo (another center)
WHEN  B asks for any of Maya's tracker pages, or nobody is logged in
THEN  B gets 404 (never 403: no hint the child exists), anonymous is sent to log in;
      the calendar feed needs no login but a bad, revoked or orphaned token is a 404.
"""

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse

from journey.models import Guardianship
from tests import factories_portal_tracker as fp
from tracker import calendar

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_portal_tracker")]

PAGES = [
    ("get", "portal_tracker:plan"),
    ("get", "portal_tracker:labs"),
    ("get", "portal_tracker:calendar"),
    ("post", "portal_tracker:calendar_new"),
    ("post", "portal_tracker:calendar_revoke"),
]


@pytest.fixture
def family_a(center_a):
    guardian = fp.guardian_with_login(center_a, "parent.a@example.org")
    child, journey = fp.child_of(guardian, first_name="Maya")
    return guardian, child, journey


@pytest.fixture
def family_b(center_b):
    guardian = fp.guardian_with_login(center_b, "parent.b@example.org")
    child, journey = fp.child_of(guardian, first_name="Leo")
    return guardian, child, journey


def _url(name, child):
    return reverse(name, kwargs={"public_id": child.public_id})


@pytest.mark.parametrize(("method", "name"), PAGES)
def test_another_guardians_child_is_404(client, family_a, family_b, method, name):
    client.force_login(family_b[0].user)
    response = getattr(client, method)(_url(name, family_a[1]))
    assert response.status_code == 404


@pytest.mark.parametrize(("method", "name"), PAGES)
def test_own_child_is_allowed(client, family_a, method, name):
    client.force_login(family_a[0].user)
    response = getattr(client, method)(_url(name, family_a[1]))
    assert response.status_code == (200 if method == "get" else 302)


@pytest.mark.parametrize(("method", "name"), PAGES)
def test_anonymous_is_sent_to_log_in(client, family_a, method, name):
    url = _url(name, family_a[1])
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(resolve_url(settings.LOGIN_URL))


@pytest.mark.parametrize(("method", "name"), PAGES)
def test_unknown_child_is_404(client, family_a, method, name):
    client.force_login(family_a[0].user)
    url = reverse(name, kwargs={"public_id": "00000000-0000-4000-8000-000000000000"})
    assert getattr(client, method)(url).status_code == 404


@pytest.mark.parametrize("name", ["portal_tracker:calendar_new", "portal_tracker:calendar_revoke"])
def test_changing_the_link_needs_post(client, family_a, name):
    client.force_login(family_a[0].user)
    assert client.get(_url(name, family_a[1])).status_code == 405


def test_staff_without_guardianship_get_404(client, family_a, coordinator_a):
    """Coordinators use the admin; the portal pages are for the child's guardians only."""
    client.force_login(coordinator_a)
    assert client.get(_url("portal_tracker:plan", family_a[1])).status_code == 404


def _feed_url(feed):
    return calendar.feed_path(feed)


@pytest.mark.parametrize(
    "token",
    ["nonsense", "0123456789abcdef0123456789abcdef.AAAA", "a" * 32, ""],
)
def test_bad_feed_token_is_404(client, family_a, token):
    calendar.new_feed(family_a[0], family_a[1])
    url = reverse("portal_tracker:feed", kwargs={"token": token or "x"})
    assert client.get(url).status_code == 404


def test_feed_needs_no_login_and_answers_ics(client, family_a):
    feed = calendar.new_feed(family_a[0], family_a[1])
    response = client.get(_feed_url(feed))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")


def test_revoked_feed_token_is_404(client, family_a):
    guardian, child, _journey = family_a
    old = calendar.new_feed(guardian, child)
    new = calendar.new_feed(guardian, child)
    assert client.get(_feed_url(old)).status_code == 404
    assert client.get(_feed_url(new)).status_code == 200
    calendar.revoke_feeds(guardian, child)
    assert client.get(_feed_url(new)).status_code == 404


def test_feed_stops_when_the_guardian_is_unlinked_or_switched_off(client, family_a):
    """Access is re-decided by journey.access on every fetch, not only when the link is made."""
    guardian, child, _journey = family_a
    feed = calendar.new_feed(guardian, child)
    guardian.user.is_active = False
    guardian.user.save(update_fields=["is_active"])
    assert client.get(_feed_url(feed)).status_code == 404
    guardian.user.is_active = True
    guardian.user.save(update_fields=["is_active"])
    Guardianship.objects.filter(guardian=guardian, patient=child).delete()
    assert client.get(_feed_url(feed)).status_code == 404


def test_a_token_signed_for_another_purpose_is_refused(client, family_a):
    from django.core import signing

    feed = calendar.new_feed(family_a[0], family_a[1])
    forged = signing.Signer(salt="something-else", sep=".").sign(feed.key.hex)
    url = reverse("portal_tracker:feed", kwargs={"token": forged})
    assert client.get(url).status_code == 404
