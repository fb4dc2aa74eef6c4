"""Invitations: the coordinator sends a one-time link; the guardian sets a password and is in.

GIVEN a guardian without a login, WHEN the coordinator of their center sends the invitation,
THEN one email arrives with a link to SITE_URL that works once, for 7 days, and only the
newest link works; the email carries no health information.
"""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from journey.models import Guardian, Invitation, PortalAccessChange, User
from journey.models.accounts import hash_token
from journey.portal import emails, invitations
from tests import factories as f
from tests.conftest import otp_login

PASSWORD = "a calm long walk 42"


@pytest.fixture
def guardian(center_a):
    guardian = f.GuardianFactory(center=center_a, email="ana@example.org", full_name="Ana Diaz")
    f.GuardianshipFactory(guardian=guardian, patient__center=center_a, patient__first_name="Mia")
    return guardian


@pytest.fixture
def admin_client(client, coordinator_a):
    otp_login(client, coordinator_a)
    return client


def send_from_admin(client, guardian):
    url = reverse("admin:journey_guardian_changelist")
    data = {"action": "send_invitations", "_selected_action": [guardian.pk]}
    return client.post(url, data, follow=True)


def link_from(message):
    match = re.search(r"https?://\S+/accounts/invitation/[\w-]+/", message.body)
    assert match, message.body
    return match.group(0)


def path_of(link):
    return "/" + link.split("/", 3)[3]


def test_admin_action_sends_one_email_with_a_site_url_link(admin_client, guardian, settings):
    response = send_from_admin(admin_client, guardian)
    assert "1 invitation sent" in response.content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ana@example.org"]
    assert link_from(message).startswith(settings.SITE_URL + "/accounts/invitation/")
    html = message.alternatives[0][0]
    assert link_from(message) in html


def test_email_has_no_health_information(admin_client, guardian):
    child = guardian.children.get()
    f.JourneyFactory(patient=child)
    send_from_admin(admin_client, guardian)
    message = mail.outbox[0]
    text = (message.subject + message.body + message.alternatives[0][0]).lower()
    for secret in [child.first_name.lower(), "zolgensma", "sma", "diagnosis", "therapy", "lab"]:
        assert not re.search(rf"\b{secret}\b", text), secret


def test_only_the_hash_of_the_token_is_stored(admin_client, guardian):
    send_from_admin(admin_client, guardian)
    token = link_from(mail.outbox[0]).rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get()
    assert invitation.token_hash == hash_token(token)
    assert token not in str(Invitation.objects.values().get())


def test_accepting_sets_the_password_links_the_login_and_logs_in(client, guardian):
    invitation, token = invitations.invite(guardian, by=None)
    url = reverse("accept_invitation", args=[token])
    assert client.get(url).status_code == 200
    response = client.post(url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")
    guardian.refresh_from_db()
    assert guardian.user.email == "ana@example.org"
    assert guardian.user.check_password(PASSWORD)
    assert not guardian.user.is_staff
    page = client.get(reverse("portal:home"))
    assert "Mia" in page.content.decode()
    assert PortalAccessChange.objects.filter(action="accepted", guardian=guardian).exists()


def test_a_link_works_only_once(client, guardian):
    _, token = invitations.invite(guardian, by=None)
    url = reverse("accept_invitation", args=[token])
    client.post(url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    client.logout()
    response = client.get(url)
    assert response.status_code == 410
    assert "no longer works" in response.content.decode()


def test_link_expires_after_7_days(client, guardian):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _, token = invitations.invite(guardian, by=None)
    url = reverse("accept_invitation", args=[token])
    with time_machine.travel(start + dt.timedelta(days=7) - dt.timedelta(minutes=1)):
        assert client.get(url).status_code == 200
    with time_machine.travel(start + dt.timedelta(days=7, seconds=1)):
        assert client.get(url).status_code == 410
        data = {"new_password1": PASSWORD, "new_password2": PASSWORD}
        assert client.post(url, data).status_code == 410
    assert User.objects.filter(email="ana@example.org").count() == 0


def test_resend_kills_the_old_link(admin_client, client, guardian):
    send_from_admin(admin_client, guardian)
    send_from_admin(admin_client, guardian)
    old, new = (path_of(link_from(m)) for m in mail.outbox)
    assert old != new
    assert client.get(old).status_code == 410
    assert client.get(new).status_code == 200
    assert Invitation.objects.open().count() == 1


def test_revoked_invitation_link_is_dead(admin_client, client, guardian):
    send_from_admin(admin_client, guardian)
    url = reverse("admin:journey_guardian_changelist")
    admin_client.post(url, {"action": "revoke_invitations", "_selected_action": [guardian.pk]})
    assert client.get(path_of(link_from(mail.outbox[0]))).status_code == 410


def test_bad_password_is_explained_by_the_field(client, guardian):
    _, token = invitations.invite(guardian, by=None)
    url = reverse("accept_invitation", args=[token])
    response = client.post(url, {"new_password1": "short", "new_password2": "short"})
    assert response.status_code == 200
    form = response.context["form"]
    assert "new_password2" in form.errors
    assert 'aria-invalid="true"' in response.content.decode()
    mismatch = client.post(url, {"new_password1": PASSWORD, "new_password2": PASSWORD + "x"})
    assert "new_password2" in mismatch.context["form"].errors
    assert Guardian.objects.get(pk=guardian.pk).user is None


def test_garbage_tokens_answer_410_not_500(client, db):
    for token in ["x", "a" * 300, "not-a-token"]:
        assert client.get(reverse("accept_invitation", args=[token])).status_code == 410


def test_email_of_a_care_team_login_is_not_taken_over(client, center_a, coordinator_a):
    guardian = f.GuardianFactory(center=center_a, email=coordinator_a.email)
    _, token = invitations.invite(guardian, by=None)
    url = reverse("accept_invitation", args=[token])
    response = client.post(url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert response.status_code == 200
    assert "care team login" in response.content.decode()
    coordinator_a.refresh_from_db()
    assert not coordinator_a.check_password(PASSWORD)


def test_change_page_button_sends_and_revokes(admin_client, guardian):
    page = admin_client.get(reverse("admin:journey_guardian_change", args=[guardian.pk]))
    url = reverse("admin:journey_guardian_portal_access", args=[guardian.pk])
    assert url in page.content.decode()
    assert admin_client.get(url).status_code == 200
    admin_client.post(url, {"do": "send"})
    assert len(mail.outbox) == 1
    admin_client.post(url, {"do": "revoke_invitation"})
    assert Invitation.objects.open().count() == 0
    history = admin_client.get(url).content.decode()
    assert "Invitation sent" in history and "Invitation revoked" in history


def test_coordinator_of_another_center_cannot_invite(client, coordinator_b, guardian):
    otp_login(client, coordinator_b)
    url = reverse("admin:journey_guardian_portal_access", args=[guardian.pk])
    assert client.post(url, {"do": "send"}).status_code == 404
    assert mail.outbox == []


def test_invitation_is_written_in_the_guardians_language(center_a, db):
    guardian = f.GuardianFactory(center=center_a, language="es")
    invitation, token = invitations.invite(guardian, by=None)
    emails.send_invitation(invitation, token)
    assert '<html lang="es">' in mail.outbox[0].alternatives[0][0]
