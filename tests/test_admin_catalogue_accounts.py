"""The catalogue and logins in the admin: coordinators read the catalogue, administrators
edit it and manage users; a malformed choice is a form error."""

from django.urls import reverse

from journey.models import Therapy
from tests import admin_journey
from tests import factories as f
from tests.admin_journey import url
from tests.conftest import otp_login

# The shared fixtures (tests/admin_journey.py), bound here for pytest to find.
client_a, zolgensma = admin_journey.client_a, admin_journey.zolgensma

# Catalogue and accounts


def test_coordinator_reads_the_catalogue_but_cannot_edit_it(client_a, zolgensma):
    assert client_a.get(url("therapy_change", zolgensma.pk)).status_code == 200
    response = client_a.post(url("therapy_change", zolgensma.pk), {"name": "Changed"})
    assert response.status_code == 403


def test_unverified_therapy_shows_a_warning(client, superuser):
    otp_login(client, superuser)
    therapy = Therapy.objects.filter(verified=False).first()
    assert "Not verified" in client.get(url("therapy_change", therapy.pk)).text


def test_users_are_managed_by_superusers_only(client, client_a, superuser):
    assert client_a.get(url("user_changelist")).status_code == 403
    otp_login(client, superuser)
    assert client.get(url("user_add")).status_code == 200
    assert client.get(url("user_changelist")).status_code == 200


def test_superuser_creates_a_login_by_email(client, superuser):
    otp_login(client, superuser)
    data = {
        "email": "New.Coordinator@Example.org",
        "full_name": "New Coordinator",
        "usable_password": "true",
        "password1": "a long enough passphrase 42",
        "password2": "a long enough passphrase 42",
    }
    response = client.post(url("user_add"), data)
    assert response.status_code == 302
    user = f.m.User.objects.get(email="new.coordinator@example.org")
    assert user.check_password("a long enough passphrase 42")
    assert client.get(url("user_change", user.pk)).status_code == 200


def test_out_of_range_key_in_a_choice_field_is_a_form_error(client, superuser):
    """SQLite overflowed on a 2**70 group id (found by the fuzz test); now a field message."""
    otp_login(client, superuser)
    url = reverse("admin:journey_user_change", args=[superuser.pk])
    response = client.post(url, {"email": superuser.email, "groups": str(2**70)})
    assert response.status_code == 200
    assert "groups" in response.context["adminform"].form.errors
