"""Rate limits: login, password reset, invitation links and the calendar feed answer 429."""

import pytest
from django.urls import reverse

from tests import factories as f
from tests.factories_portal import family


@pytest.fixture
def tight(settings):
    settings.WAYPOINT_RATE_LIMITS = {
        "login": {"ip": "3/m", "username": "100/m"},
        "password_reset": {"ip": "2/m"},
        "accept_invitation": {"ip": "2/m"},
        "two_factor": {"ip": "2/m"},
        "calendar_feed": {"token": "2/m"},
    }


def assert_limited(response):
    assert response.status_code == 429
    assert "Too many attempts" in response.text
    assert response["Retry-After"]


def test_login_over_the_limit_answers_429(client, db, tight):
    for i in range(3):
        response = client.post(reverse("login"), {"username": f"u{i}@x.org", "password": "x"})
        assert response.status_code == 200
    assert_limited(client.post(reverse("login"), {"username": "u9@x.org", "password": "x"}))
    # Other people (another address) are not affected.
    other = client.post(
        reverse("login"), {"username": "u9@x.org", "password": "x"}, REMOTE_ADDR="10.0.0.9"
    )
    assert other.status_code == 200


def test_login_per_email_limit(client, db, settings):
    settings.WAYPOINT_RATE_LIMITS = {"login": {"username": "2/m"}}
    for addr in ("10.0.0.1", "10.0.0.2"):
        client.post(reverse("login"), {"username": "Ana@x.org", "password": "x"}, REMOTE_ADDR=addr)
    response = client.post(
        reverse("login"), {"username": "ana@x.org ", "password": "x"}, REMOTE_ADDR="10.0.0.3"
    )
    assert_limited(response)


def test_admin_login_is_limited_too(client, db, tight):
    for _ in range(3):
        client.post(reverse("admin:login"), {"username": "a@x.org", "password": "x"})
    assert_limited(client.post(reverse("admin:login"), {"username": "a@x.org", "password": "x"}))


def test_password_reset_over_the_limit_answers_429(client, db, tight):
    for _ in range(2):
        assert client.post(reverse("password_reset"), {"email": "a@x.org"}).status_code == 302
    assert_limited(client.post(reverse("password_reset"), {"email": "a@x.org"}))


def test_invitation_link_over_the_limit_answers_429(client, db, tight):
    url = reverse("accept_invitation", args=["not-a-real-token"])
    assert client.get(url).status_code == 410
    assert client.get(url).status_code == 410
    assert_limited(client.get(url))


def test_calendar_feed_over_the_limit_answers_429(client, center_a, tight):
    from tracker import calendar

    guardian, child = family(center_a)
    feed = calendar.new_feed(guardian, child)
    url = calendar.feed_path(feed)
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200
    response = client.get(url)
    assert response.status_code == 429


def test_client_address_behind_a_proxy(rf, settings):
    from journey.security.ratelimits import client_ip

    settings.WAYPOINT_PROXY_COUNT = 1
    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7", REMOTE_ADDR="10.0.0.1")
    assert client_ip(request) == "203.0.113.7"
    settings.WAYPOINT_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.1"


def test_limits_do_not_touch_ordinary_pages(client, db, tight):
    f.CenterFactory()
    for _ in range(5):
        assert client.get(reverse("login")).status_code == 200
