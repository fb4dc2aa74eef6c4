"""Staff pages outside the admin proper (second factor, lockout, too many requests) carry the
staff header; a family's look stays the portal's; reusing a code says so."""

import datetime as dt

import time_machine
from django.urls import reverse
from django_otp.oath import hotp, totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories_portal import PASSWORD, guardian_a  # noqa: F401

STAFF_HEADER = "Waypoint care team"
ADMIN = "/admin/"
START = dt.datetime(2026, 3, 2, 9, 0, 5, tzinfo=dt.UTC)


def code_for(device):
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _with_password(user):
    user.set_password(PASSWORD)
    user.save()
    return user


def test_the_second_factor_pages_carry_the_staff_header(client, coordinator_a):
    TOTPDevice.objects.create(user=coordinator_a, name="phone", confirmed=True)
    client.force_login(coordinator_a)
    for name in ("two_factor:verify", "two_factor:overview"):
        page = client.get(reverse(name)).content.decode()
        assert STAFF_HEADER in page, name
        assert "Django administration" not in page


def test_the_set_up_page_carries_the_staff_header(client, coordinator_a):
    client.force_login(coordinator_a)
    assert STAFF_HEADER in client.get(reverse("two_factor:setup")).content.decode()


def test_a_staff_lockout_carries_the_staff_header(client, coordinator_a):
    _with_password(coordinator_a)
    login = reverse("admin:login")
    for _ in range(5):
        response = client.post(login, {"username": coordinator_a.email, "password": "wrong"})
    assert response.status_code == 429
    page = response.content.decode()
    assert STAFF_HEADER in page and "Too many tries" in page
    assert "your child" not in page


def test_a_familys_lockout_keeps_the_portal_look(client, guardian_a):  # noqa: F811
    for _ in range(5):
        response = client.post(reverse("login"), {"username": guardian_a.email, "password": "x"})
    assert response.status_code == 429
    assert STAFF_HEADER not in response.content.decode()


def test_staff_over_the_rate_limit_see_the_staff_header(client, coordinator_a, settings):
    settings.WAYPOINT_RATE_LIMITS = {**settings.WAYPOINT_RATE_LIMITS, "two_factor": {"ip": "1/h"}}
    TOTPDevice.objects.create(user=coordinator_a, name="phone", confirmed=True)
    client.force_login(coordinator_a)
    url = reverse("two_factor:verify")
    responses = [client.post(url, {"token": "123456"}) for _ in range(3)]
    limited = [r for r in responses if r.status_code == 429]
    assert limited and STAFF_HEADER in limited[-1].content.decode()


def test_reusing_a_code_says_so(client, coordinator_a):
    """GIVEN a code just used to log in WHEN it is typed again (a second tab, a new login in
    the same 30 seconds) THEN the page says it was already used, not that it is wrong."""
    device = TOTPDevice.objects.create(user=coordinator_a, name="phone", confirmed=True)
    with time_machine.travel(START, tick=False):
        code = code_for(device)
        client.force_login(coordinator_a)
        first = client.post(reverse("two_factor:verify"), {"token": code, "next": ADMIN})
        assert first.status_code == 302
        client.logout()
        client.force_login(coordinator_a)
        again = client.post(reverse("two_factor:verify"), {"token": code, "next": ADMIN})
    page = again.content.decode()
    assert again.status_code == 200
    assert "already used" in page
    device.refresh_from_db()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert hotp(device.bin_key, device.last_t, digits=6) != int(wrong)
