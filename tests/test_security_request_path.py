"""What every logged-in request reads before its page (issue 12, part 3).

The session, then ONE query for the user, their guardian row (with its center) and the
second-factor device named in the session; for staff pages, their permissions in one more.
Nothing of it is kept between requests: a deactivated login, a removed device or a guardian
row unlinked from the login counts on the very next request.
"""

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import translation
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from journey.models import Guardian, Patient
from journey.security.backends import WaypointBackend
from journey.security.sessions import OTP_REQUIRED
from tests import factories as f
from tests.conftest import otp_login
from tests.factories_portal import family

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_request_path")]
WHOAMI = "/whoami/"
SESSION = 0 if settings.SESSION_ENGINE.endswith("cached_db") else 1


def _verified_guardian(client, center, **kwargs):
    guardian, child = family(center, **kwargs)
    device = otp_login(client, guardian.user)
    session = client.session
    session[OTP_REQUIRED] = True  # turned on: every portal page checks the code
    session.save()
    return guardian, device


def test_a_guardian_request_reads_user_guardian_and_device_in_one_query(
    client, center_a, django_assert_num_queries
):
    guardian, _device = _verified_guardian(client, center_a, language="es")
    client.get(WHOAMI)  # the session's first write is done
    with django_assert_num_queries(SESSION + 1):
        answer = client.get(WHOAMI).json()
    assert answer == {
        "user": guardian.user.pk,
        "verified": True,
        "guardian": guardian.pk,
        "center": center_a.name,
        "language": "es",
    }


def test_a_staff_request_reads_user_and_device_in_one_query(
    client, coordinator_a, django_assert_num_queries
):
    otp_login(client, coordinator_a)
    client.get(WHOAMI)
    with django_assert_num_queries(SESSION + 1):
        answer = client.get(WHOAMI).json()
    assert answer["verified"] is True and answer["guardian"] is None


def test_backup_codes_are_read_with_the_user_too(client, coordinator_a, django_assert_num_queries):
    otp_login(client, coordinator_a)
    device = StaticDevice.objects.create(user=coordinator_a, name="Backup codes", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    client.get(WHOAMI)
    with django_assert_num_queries(SESSION + 1):
        assert client.get(WHOAMI).json()["verified"] is True


def test_a_removed_device_counts_on_the_next_request(client, center_a):
    guardian, device = _verified_guardian(client, center_a)
    assert client.get(WHOAMI).json()["verified"] is True
    TOTPDevice.objects.filter(pk=device.pk).delete()
    response = client.get(WHOAMI)
    assert response.status_code == 302  # asked for a code again
    assert response.url.startswith(reverse("two_factor:verify"))
    assert DEVICE_ID_SESSION_KEY not in client.session


def test_an_unconfirmed_device_is_no_second_factor(client, coordinator_a):
    device = otp_login(client, coordinator_a)
    TOTPDevice.objects.filter(pk=device.pk).update(confirmed=False)  # no signal
    assert client.get(WHOAMI).json()["verified"] is False


def test_someone_elses_device_in_the_session_is_no_second_factor(client, center_a, coordinator_a):
    otp_login(client, coordinator_a)
    other = TOTPDevice.objects.create(user=f.UserFactory(), name="theirs", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = other.persistent_id
    session.save()
    assert client.get(WHOAMI).json()["verified"] is False
    assert DEVICE_ID_SESSION_KEY not in client.session


@pytest.mark.parametrize("persistent_id", ["nonsense", "otp_totp.totpdevice/x", "auth.user/1"])
def test_a_bad_device_id_in_the_session_is_no_second_factor(client, coordinator_a, persistent_id):
    otp_login(client, coordinator_a)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = persistent_id
    session.save()
    assert client.get(WHOAMI).json()["verified"] is False


def test_a_guardian_row_unlinked_in_sql_counts_on_the_next_request(client, center_a):
    guardian, _child = family(center_a)
    client.force_login(guardian.user)
    assert client.get(WHOAMI).json()["guardian"] == guardian.pk
    Guardian.objects.filter(pk=guardian.pk).update(user=None)  # no signal
    assert client.get(WHOAMI).json()["guardian"] is None
    assert client.get(reverse("portal:home")).status_code == 403


def test_a_deactivated_guardian_is_logged_out_on_the_next_request(client, center_a):
    guardian, _device = _verified_guardian(client, center_a)
    assert client.get(WHOAMI).json()["user"] == guardian.user.pk
    type(guardian.user).objects.filter(pk=guardian.user.pk).update(is_active=False)
    assert client.get(WHOAMI).json()["user"] is None


def test_staff_permissions_are_read_in_one_query(coordinator_a, django_assert_num_queries):
    group = Group.objects.create(name="readers")
    group.permissions.add(Permission.objects.get(codename="view_center"))
    coordinator_a.groups.add(group)
    coordinator_a.user_permissions.add(Permission.objects.get(codename="change_patient"))
    fresh = type(coordinator_a).objects.get
    expected = ModelBackend().get_all_permissions(fresh(pk=coordinator_a.pk))
    user = fresh(pk=coordinator_a.pk)
    with django_assert_num_queries(1):
        assert WaypointBackend().get_all_permissions(user) == expected
        assert user.has_perm("journey.view_center") and user.has_perm("journey.change_patient")
    assert "journey.view_center" in expected and "journey.change_patient" in expected


def test_an_inactive_user_has_no_permissions(coordinator_a):
    coordinator_a.user_permissions.add(Permission.objects.get(codename="change_patient"))
    coordinator_a.is_active = False
    assert WaypointBackend().get_all_permissions(coordinator_a) == set()


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_admin_app_list_names_are_translated_once_and_sorted(rf, superuser, language):
    """The sidebar's names are plain strings in the request's language (lazy strings were
    translated again on every comparison of the sort), in Django's order."""
    request = rf.get("/admin/")
    request.user = superuser
    with translation.override(language):
        apps = admin.site.get_app_list(request)
        names = [app["name"] for app in apps]
        models = [model["name"] for app in apps for model in app["models"]]
        patients = str(Patient._meta.verbose_name_plural)
    assert all(type(name) is str for name in names + models)
    assert names == sorted(names, key=str.lower)
    assert patients[0].upper() + patients[1:] in models


def test_a_superuser_has_every_permission_as_with_django(superuser):
    fresh = type(superuser).objects.get
    expected = ModelBackend().get_all_permissions(fresh(pk=superuser.pk))
    assert WaypointBackend().get_all_permissions(fresh(pk=superuser.pk)) == expected
    assert len(expected) == Permission.objects.count()


def test_a_permission_removed_counts_on_the_next_request(coordinator_a):
    """The query is compiled once; its answer is read anew for each request's user."""
    fresh = type(coordinator_a).objects.get
    held = fresh(pk=coordinator_a.pk).get_all_permissions()
    extra = Permission.objects.exclude(codename__in=[name.split(".")[1] for name in held])[0]
    name = f"{extra.content_type.app_label}.{extra.codename}"
    coordinator_a.user_permissions.add(extra)
    assert fresh(pk=coordinator_a.pk).has_perm(name)
    coordinator_a.user_permissions.remove(extra)
    assert not fresh(pk=coordinator_a.pk).has_perm(name)
