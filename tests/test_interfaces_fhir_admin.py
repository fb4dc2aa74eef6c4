"""A coordinator issues (or rotates) a lab system's FHIR API token in the admin: shown once,
kept hashed, their own center's lab systems only."""

import re

import pytest
from django.urls import reverse

from audit.models import AuditRecord
from interfaces.models import InboundMessage, LabSender
from tests.conftest import otp_login
from tests.fhir_samples import body, observation
from tests.hl7_samples import make_lab

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:interfaces_labsender_changelist")


def issue(client, lab):
    data = {"action": "issue_api_token", "_selected_action": [str(lab.pk)], "index": "0"}
    return client.post(CHANGELIST, data)


def test_a_coordinator_issues_a_token_shown_once_that_works(client, center_a, coordinator_a):
    lab = make_lab(center_a)
    otp_login(client, coordinator_a)
    response = issue(client, lab)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    token = re.search(r'<code id="api-token">([^<]+)</code>', response.content.decode())[1]
    lab.refresh_from_db()
    assert lab.api_token_issued_at is not None and token not in lab.api_token_hash
    audit = " ".join(str(e.changes) for e in AuditRecord.objects.all())
    assert token not in audit and lab.api_token_hash not in audit
    client.logout()
    answer = client.post(
        "/fhir/Observation",
        body(observation()),
        content_type="application/fhir+json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 201 and InboundMessage.objects.get().lab == lab


def test_another_centers_coordinator_cannot_issue_one(client, center_a, coordinator_b):
    lab = make_lab(center_a)
    otp_login(client, coordinator_b)
    response = issue(client, lab)
    assert "api-token" not in response.content.decode()
    assert LabSender.objects.get(pk=lab.pk).api_token_hash == ""
