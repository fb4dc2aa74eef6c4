"""Security headers: a CSP without 'unsafe-inline' on portal and admin pages, and the rest."""

import pytest
from django.urls import reverse

from tests.conftest import otp_login

REQUIRED = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def directives(response):
    header = response.headers["Content-Security-Policy"]
    parts = [p.strip().split(" ", 1) for p in header.split(";") if p.strip()]
    return {name: value for name, value in parts}


def assert_strict_csp(response):
    policy = directives(response)
    for name, value in REQUIRED.items():
        assert policy.get(name) == value, (name, policy)
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("name", ["login", "password_reset"])
def test_portal_pages_have_a_strict_csp(client, db, name):
    assert_strict_csp(client.get(reverse(name)))


def test_portal_child_page_has_a_strict_csp(client, center_a):
    from tests.factories_portal import family

    guardian, child = family(center_a)
    client.force_login(guardian.user)
    response = client.get(reverse("portal:child", args=[child.public_id]))
    assert response.status_code == 200
    assert_strict_csp(response)


@pytest.mark.parametrize("url", ["admin:index", "admin:journey_patient_changelist", "admin:login"])
def test_admin_pages_have_a_strict_csp(client, coordinator_a, url):
    otp_login(client, coordinator_a)
    response = client.get(reverse(url))
    assert_strict_csp(response)


def test_templates_carry_no_inline_script_or_style():
    """Page templates (emails aside) link their CSS and JS: the CSP would block inline ones."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "templates"
    offenders = []
    for path in root.rglob("*.html"):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(("emails/", "notifications/")):
            continue
        text = path.read_text()
        for needle in ("<style", 'style="', "<script>", " onclick=", " onchange=", " onsubmit="):
            if needle in text:
                offenders.append((relative, needle))
    assert offenders == []


def test_hsts_and_secure_cookies_in_production():
    from tests.test_settings import PRODUCTION, manage

    code = (
        "from django.conf import settings as s;"
        "print(s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_SSL_REDIRECT)"
    )
    result = manage("shell", "-c", code, env=PRODUCTION)
    assert result.stdout.strip().splitlines()[-1].split() == ["31536000", "True", "True", "True"]
