"""Logging in by email, lockout after 5 failures, logout, password change and reset, revocation.

GIVEN a guardian with a login, WHEN they log in with their email (any case), THEN they land on
the portal; five wrong passwords lock that email from that address out with a clear page; a
coordinator revoking access logs out every session at once.
"""

import re

import pytest
from django.core import mail
from django.urls import reverse

from journey.portal import invitations
from tests import factories_portal as fp
from tests.conftest import otp_login
from tests.factories_portal import PASSWORD

guardian_a, child_a, client_a = fp.guardian_a, fp.child_a, fp.client_a
NEW_PASSWORD = "a quieter evening 77"


def login(client, email, password):
    return client.post(reverse("login"), {"username": email, "password": password})


def test_login_by_email_in_any_case_lands_on_the_portal(client, guardian_a, child_a):
    response = login(client, "  ANA@Example.org ", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")
    assert child_a.first_name in client.get(reverse("portal:home")).content.decode()


def test_wrong_password_shows_a_message_and_keeps_the_email(client, guardian_a):
    response = login(client, "ana@example.org", "wrong")
    assert response.status_code == 200
    page = response.content.decode()
    assert "do not match" in page
    assert 'value="ana@example.org"' in page


def test_bad_email_is_explained_by_the_field(client, db):
    response = login(client, "not an email", "x")
    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    assert 'value="not an email"' in response.content.decode()


def test_five_failures_lock_the_login_out(client, guardian_a):
    for _ in range(4):
        assert login(client, "ana@example.org", "wrong").status_code == 200
    locked = login(client, "ana@example.org", "wrong")
    assert locked.status_code == 429
    assert "Too many tries" in locked.content.decode()
    # Even the right password is refused while locked out, in any case of the email.
    assert login(client, "ANA@example.org", PASSWORD).status_code == 429


def test_lockout_is_per_email_and_address(client, guardian_a, center_a):
    other = fp.family(center_a, email="other@example.org")[0]
    for _ in range(5):
        login(client, "ana@example.org", "wrong")
    assert login(client, other.email, PASSWORD).status_code == 302


def test_logout_is_a_post(client_a):
    assert client_a.get(reverse("logout")).status_code == 405
    response = client_a.post(reverse("logout"))
    assert response["Location"] == reverse("login")
    assert client_a.get(reverse("portal:home")).status_code == 302


def test_change_password(client_a, guardian_a):
    url = reverse("password_change")
    bad = client_a.post(url, {"old_password": "nope", "new_password1": "x", "new_password2": "x"})
    assert bad.status_code == 200
    assert {"old_password", "new_password2"} <= set(bad.context["form"].errors)
    data = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    response = client_a.post(url, data)
    assert response["Location"] == reverse("password_change_done")
    guardian_a.user.refresh_from_db()
    assert guardian_a.user.check_password(NEW_PASSWORD)
    assert client_a.get(reverse("portal:home")).status_code == 200  # still logged in


def test_password_reset_by_email(client, guardian_a, settings):
    response = client.post(reverse("password_reset"), {"email": "ANA@example.org"})
    assert response["Location"] == reverse("password_reset_done")
    message = mail.outbox[0]
    assert message.to == ["ana@example.org"]
    link = re.search(r"https?://\S+/accounts/reset/\S+/", message.body).group(0)
    assert link.startswith(settings.SITE_URL)
    assert "text/html" in message.alternatives[0][1]
    page = client.get(link.replace(settings.SITE_URL, ""), follow=True)
    assert page.context["validlink"]
    form_url = page.redirect_chain[-1][0]
    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == reverse("password_reset_complete")
    assert login(client, "ana@example.org", NEW_PASSWORD).status_code == 302


def test_password_reset_for_unknown_email_says_the_same(client, db):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_password_reset_bad_email_is_explained(client, db):
    response = client.post(reverse("password_reset"), {"email": "nope"})
    assert response.status_code == 200
    assert "email" in response.context["form"].errors


def test_revoking_access_logs_out_an_open_session(client, guardian_a, coordinator_a):
    """The guardian's phone is logged in; the coordinator revokes; the next tap is the login."""
    assert login(client, "ana@example.org", PASSWORD).status_code == 302
    assert client.get(reverse("portal:home")).status_code == 200
    invitations.revoke_access(guardian_a, by=coordinator_a)
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert login(client, "ana@example.org", PASSWORD).status_code == 200  # cannot log back in


def test_revoke_access_from_the_admin(client, guardian_a, coordinator_a):
    phone = client.__class__()
    phone.force_login(guardian_a.user)
    otp_login(client, coordinator_a)
    url = reverse("admin:journey_guardian_changelist")
    client.post(url, {"action": "revoke_portal_access", "_selected_action": [guardian_a.pk]})
    assert phone.get(reverse("portal:home")).status_code == 302
    guardian_a.user.refresh_from_db()
    assert not guardian_a.user.is_active
    assert guardian_a.access_changes.filter(action="access_revoked", by=coordinator_a).exists()


def test_a_new_invitation_gives_access_back(client, guardian_a, coordinator_a):
    invitations.revoke_access(guardian_a, by=coordinator_a)
    _, token = invitations.invite(guardian_a, by=coordinator_a)
    url = reverse("accept_invitation", args=[token])
    client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert client.get(reverse("portal:home")).status_code == 200
    guardian_a.user.refresh_from_db()
    assert guardian_a.user.is_active


@pytest.mark.parametrize("name", ["login", "password_reset"])
def test_account_pages_render_for_anonymous(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert response.content.decode().count("<h1") == 1
