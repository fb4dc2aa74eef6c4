"""Second factor for the admin, argon2 hashing, session limits and key rotation."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.hashers import identify_hasher
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from journey.security.two_factor import new_backup_codes
from tests import factories as f
from tests.conftest import otp_login
from tests.factories_portal import PASSWORD, family

ADMIN = "/admin/"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def code_for(device):
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


# The admin asks for the second factor


def test_staff_without_a_device_is_sent_to_set_up_totp(client, coordinator_a):
    client.force_login(coordinator_a)
    response = client.get(ADMIN, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("two_factor:setup"))
    assert "otpauth://totp/" in response.text
    assert 'src="data:image/svg+xml;base64,' in response.text


def test_staff_with_a_device_is_asked_for_a_code(client, coordinator_a):
    TOTPDevice.objects.create(user=coordinator_a, name="phone", confirmed=True)
    client.force_login(coordinator_a)
    response = client.get(ADMIN, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("two_factor:verify"))
    assert response.status_code == 200


def test_verified_session_reaches_the_admin(client, coordinator_a):
    otp_login(client, coordinator_a)
    assert client.get(ADMIN).status_code == 200


def test_password_login_then_code_reaches_the_admin(client, coordinator_a):
    coordinator_a.set_password(PASSWORD)
    coordinator_a.save()
    device = TOTPDevice.objects.create(user=coordinator_a, name="phone", confirmed=True)
    response = client.post(
        reverse("admin:login"), {"username": coordinator_a.email, "password": PASSWORD}
    )
    assert client.get(ADMIN).status_code == 302
    response = client.post(reverse("two_factor:verify"), {"token": "000000", "next": ADMIN})
    assert response.status_code == 200 and "did not work" in response.text
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    response = client.post(reverse("two_factor:verify"), {"token": code_for(device), "next": ADMIN})
    assert response.status_code == 302 and response.url == ADMIN
    assert client.get(ADMIN).status_code == 200


def test_setup_confirms_the_app_and_shows_backup_codes(client, coordinator_a):
    client.force_login(coordinator_a)
    client.get(reverse("two_factor:setup"))
    device = TOTPDevice.objects.get(user=coordinator_a)
    assert not device.confirmed
    response = client.post(reverse("two_factor:setup"), {"token": code_for(device)})
    device.refresh_from_db()
    assert device.confirmed
    assert len(response.context["codes"]) == 10
    assert client.get(ADMIN).status_code == 200


def test_backup_code_works_once(client, coordinator_a):
    TOTPDevice.objects.create(user=coordinator_a, name="phone", confirmed=True)
    code = new_backup_codes(coordinator_a)[0]
    client.force_login(coordinator_a)
    response = client.post(reverse("two_factor:verify"), {"token": code, "next": ADMIN})
    assert response.status_code == 302
    assert client.get(ADMIN).status_code == 200
    assert not StaticToken.objects.filter(token=code).exists()
    client.logout()
    client.force_login(coordinator_a)
    response = client.post(reverse("two_factor:verify"), {"token": code, "next": ADMIN})
    assert response.status_code == 200
    assert client.get(ADMIN).status_code == 302


def test_second_factor_rotates_the_session_key(client, coordinator_a):
    TOTPDevice.objects.create(user=coordinator_a, name="phone", confirmed=True)
    code = new_backup_codes(coordinator_a)[0]
    client.force_login(coordinator_a)
    before = client.session.session_key
    client.post(reverse("two_factor:verify"), {"token": code})
    assert client.session.session_key != before
    assert DEVICE_ID_SESSION_KEY in client.session


def test_guardian_may_turn_on_two_step_login(client, center_a):
    guardian, _child = family(center_a)
    client.force_login(guardian.user)
    client.get(reverse("two_factor:setup"))
    device = TOTPDevice.objects.get(user=guardian.user)
    client.post(reverse("two_factor:setup"), {"token": code_for(device)})
    assert client.get(reverse("portal:home")).status_code == 200
    # Next login: the portal asks for the code first.
    client.logout()
    client.force_login(guardian.user)
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("two_factor:verify"))


# Passwords


def test_new_passwords_are_hashed_with_argon2(db, settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    user = f.UserFactory()
    user.set_password("a calm long walk 42")
    assert identify_hasher(user.password).algorithm == "argon2"


def test_production_settings_put_argon2_first():
    from config import settings as production

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


# Sessions


def _logged_in(client, user, staff):
    with time_machine.travel(START, tick=False):
        if staff:
            otp_login(client, user)
        else:
            client.force_login(user)


@pytest.mark.parametrize(("minutes", "still_in"), [(14, True), (16, False)], ids=["14min", "16min"])
def test_staff_idle_limit(client, coordinator_a, minutes, still_in):
    _logged_in(client, coordinator_a, staff=True)
    with time_machine.travel(START + dt.timedelta(minutes=minutes), tick=False):
        assert (client.get(ADMIN).status_code == 200) is still_in
        assert ("_auth_user_id" in client.session) is still_in


def test_expiry_is_recorded(client, coordinator_a):
    from audit.models import AuditRecord, Event

    _logged_in(client, coordinator_a, staff=True)
    with time_machine.travel(START + dt.timedelta(minutes=16), tick=False):
        client.get(ADMIN)
    record = AuditRecord.objects.get(event=Event.SESSION_EXPIRED)
    assert record.actor == coordinator_a and record.additional_data["why"] == "idle"


@pytest.mark.parametrize(("minutes", "still_in"), [(29, True), (31, False)], ids=["29", "31"])
def test_family_idle_limit(client, center_a, minutes, still_in):
    guardian, _child = family(center_a)
    _logged_in(client, guardian.user, staff=False)
    with time_machine.travel(START + dt.timedelta(minutes=minutes), tick=False):
        assert (client.get(reverse("portal:home")).status_code == 200) is still_in


def test_activity_keeps_a_family_session_alive_until_the_absolute_limit(client, center_a):
    guardian, _child = family(center_a)
    _logged_in(client, guardian.user, staff=False)
    home = reverse("portal:home")
    for minutes in range(20, 12 * 60, 20):
        with time_machine.travel(START + dt.timedelta(minutes=minutes), tick=False):
            assert client.get(home).status_code == 200, minutes
    with time_machine.travel(START + dt.timedelta(hours=12, minutes=5), tick=False):
        assert client.get(home).status_code == 302


def test_idle_limits_come_from_settings(client, coordinator_a, settings):
    settings.WAYPOINT_SESSION_IDLE_STAFF = dt.timedelta(minutes=5)
    _logged_in(client, coordinator_a, staff=True)
    with time_machine.travel(START + dt.timedelta(minutes=6), tick=False):
        assert client.get(ADMIN).status_code == 302


def test_session_key_rotates_on_login(client, center_a):
    guardian, _child = family(center_a)
    client.get(reverse("login"))
    session = client.session
    session["anonymous"] = "yes"
    session.save()
    before = session.session_key
    response = client.post(reverse("login"), {"username": guardian.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session.session_key != before


# Every request reads the user and the device from the database (issue 12: no login cache)


def test_a_user_deactivated_without_a_save_is_logged_out_on_the_next_request(client, center_a):
    guardian, _child = family(center_a)
    client.force_login(guardian.user)
    assert client.get(reverse("portal:home")).status_code == 200
    type(guardian.user).objects.filter(pk=guardian.user.pk).update(is_active=False)  # no signal
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_new_password_ends_the_other_sessions(client, center_a):
    guardian, _child = family(center_a)
    client.force_login(guardian.user)
    assert client.get(reverse("portal:home")).status_code == 200
    guardian.user.set_password("a new long passphrase 42")
    guardian.user.save()
    assert client.get(reverse("portal:home")).status_code == 302


def test_a_removed_device_is_no_longer_a_second_factor(client, coordinator_a):
    device = otp_login(client, coordinator_a)
    assert client.get(ADMIN).status_code == 200
    TOTPDevice.objects.filter(pk=device.pk).delete()
    assert client.get(ADMIN).status_code == 302  # asked for a code again
