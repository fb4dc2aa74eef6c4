"""Issue 13 item 6: people records.

A new guardian's time zone defaults to their center's; changing a guardian's email changes
their login address, ends the open invitation and password reset links, and tells both
addresses; a staff password changes only in a session (or with a code) that passed the
second factor.
"""

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from journey.models import Guardian, Invitation
from journey.portal import invitations
from tests import factories as f
from tests import factories_portal
from tests.conftest import otp_login
from tests.factories_portal import PASSWORD
from tests.test_security_auth import code_for

pytestmark = pytest.mark.django_db
guardian_a = factories_portal.guardian_a  # the fixture, bound here for pytest to find
NEW_PASSWORD = "a brand new passphrase 42"


def _guardian_form(guardian, **changes):
    data = {
        "center": guardian.center_id,
        "full_name": guardian.full_name,
        "email": guardian.email,
        "phone": guardian.phone,
        "time_zone": guardian.time_zone,
        "language": guardian.language,
        "guardianships-TOTAL_FORMS": "0",
        "guardianships-INITIAL_FORMS": "0",
        "guardianships-MIN_NUM_FORMS": "0",
        "guardianships-MAX_NUM_FORMS": "1000",
    }
    return {**data, **changes}


# A new guardian's time zone


def test_a_new_guardians_zone_is_the_centers(client, coordinator_a, center_a):
    center_a.time_zone = "America/Chicago"
    center_a.save()
    otp_login(client, coordinator_a)
    form = client.get(reverse("admin:journey_guardian_add")).context["adminform"].form
    assert form["time_zone"].value() == "America/Chicago"
    data = _guardian_form(Guardian(center=center_a, full_name="Eva", email="eva@example.org"))
    data["time_zone"] = form["time_zone"].value()  # left as the page offered it
    assert client.post(reverse("admin:journey_guardian_add"), data).status_code == 302
    assert Guardian.objects.get(email="eva@example.org").time_zone == "America/Chicago"


def test_a_zone_the_coordinator_chose_is_kept(client, coordinator_a, center_a):
    otp_login(client, coordinator_a)
    data = _guardian_form(Guardian(center=center_a, full_name="Eva", email="eva@example.org"))
    data["time_zone"] = "Europe/Madrid"
    assert client.post(reverse("admin:journey_guardian_add"), data).status_code == 302
    assert Guardian.objects.get(email="eva@example.org").time_zone == "Europe/Madrid"


# A guardian's email


def _change(client, guardian, **changes):
    url = reverse("admin:journey_guardian_change", args=[guardian.pk])
    return client.post(url, _guardian_form(guardian, **changes))


def test_a_new_email_is_the_login_address_and_old_links_stop(
    client, coordinator_a, guardian_a, django_capture_on_commit_callbacks
):
    user = guardian_a.user
    invitation, _raw = invitations.invite(guardian_a, by=coordinator_a)
    reset_token = default_token_generator.make_token(user)
    otp_login(client, coordinator_a)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = _change(client, guardian_a, email="Ana.New@Example.org")
    assert response.status_code == 302
    guardian_a.refresh_from_db()
    user.refresh_from_db()
    assert guardian_a.email == user.email == "ana.new@example.org"
    assert Invitation.objects.get(pk=invitation.pk).revoked_at is not None
    assert not default_token_generator.check_token(user, reset_token)
    told = sorted(address for message in mail.outbox for address in message.to)
    assert told == ["ana.new@example.org", "ana@example.org"]
    for message in mail.outbox:
        body = message.body + message.alternatives[0][0]
        assert "Mia" not in body and "Zolgensma" not in body  # no child, no therapy
    old = next(m for m in mail.outbox if m.to == ["ana@example.org"])
    assert "ana.new@example.org" not in old.body  # the old address learns no new one


def test_the_new_address_logs_in_and_the_old_one_does_not(
    client, coordinator_a, guardian_a, django_capture_on_commit_callbacks
):
    guardian_a.user.set_password(PASSWORD)
    guardian_a.user.save()
    otp_login(client, coordinator_a)
    with django_capture_on_commit_callbacks(execute=True):
        _change(client, guardian_a, email="ana.new@example.org")
    client.logout()
    assert not _password_login(client, "ana@example.org")
    assert _password_login(client, "ana.new@example.org")


def test_an_address_another_login_has_is_refused_by_the_field(client, coordinator_a, guardian_a):
    f.UserFactory(email="taken@example.org")
    otp_login(client, coordinator_a)
    response = _change(client, guardian_a, email="taken@example.org")
    assert response.status_code == 200
    assert "already used" in str(response.context["adminform"].form.errors["email"])
    guardian_a.refresh_from_db()
    assert guardian_a.email == guardian_a.user.email == "ana@example.org"


# A staff password


def _password_login(client, email):
    """The login page (django-axes needs the request); True when the password let them in."""
    client.post(reverse("login"), {"username": email, "password": PASSWORD})
    return "_auth_user_id" in client.session


def _unthrottle(device):
    """django-otp delays the next try after a wrong code; the test does not wait."""
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()


def test_staff_password_change_asks_for_the_second_factor_first(client, coordinator_a):
    coordinator_a.set_password(PASSWORD)
    coordinator_a.save()
    device = TOTPDevice.objects.create(user=coordinator_a, name="phone", confirmed=True)
    assert _password_login(client, coordinator_a.email)
    change = reverse("password_change")
    data = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    response = client.post(change, data)
    assert response.status_code == 302
    assert response.url.startswith(reverse("two_factor:verify"))
    coordinator_a.refresh_from_db()
    assert coordinator_a.check_password(PASSWORD)
    client.post(reverse("two_factor:verify"), {"token": code_for(device), "next": change})
    assert client.post(change, data).status_code == 302
    coordinator_a.refresh_from_db()
    assert coordinator_a.check_password(NEW_PASSWORD)


def test_a_guardian_changes_their_password_without_a_code(client, guardian_a):
    guardian_a.user.set_password(PASSWORD)
    guardian_a.user.save()
    assert _password_login(client, guardian_a.email)
    data = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert client.post(reverse("password_change"), data).status_code == 302
    guardian_a.user.refresh_from_db()
    assert guardian_a.user.check_password(NEW_PASSWORD)


def _reset_url(client, user):
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    response = client.get(reverse("password_reset_confirm", args=[uid, token]))
    assert response.status_code == 302  # Django moves the token into the session
    return response.url


def test_a_staff_reset_link_also_needs_a_code(client, coordinator_a):
    device = TOTPDevice.objects.create(user=coordinator_a, name="phone", confirmed=True)
    url = _reset_url(client, coordinator_a)
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    response = client.post(url, {**data, "token": "000000"})
    assert response.status_code == 200 and "token" in response.context["form"].errors
    coordinator_a.refresh_from_db()
    assert not coordinator_a.check_password(NEW_PASSWORD)
    _unthrottle(device)
    assert client.post(url, {**data, "token": code_for(device)}).status_code == 302
    coordinator_a.refresh_from_db()
    assert coordinator_a.check_password(NEW_PASSWORD)
