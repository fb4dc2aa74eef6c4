"""Issue 17 item 1 in the admin: a coordinator restricts a guardian with the document, lifts it,
records an adult guardianship; documents are private; another center sees none of it.

GIVEN child A (center A) with a primary guardian and a co-guardian, coordinators of centers A
      and B (second factor passed)
WHEN  coordinator A uses the admin's "Guardian restrictions" and "Adult guardianships" pages
THEN  the restriction is saved through the service (the guardian's next request answers 404,
      the access history has it), the document downloads as a private attachment, lifting needs
      a reason; coordinator B cannot pick center A's guardianships nor open the rows (404).
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from journey.models import (
    AdultGuardianship,
    Guardianship,
    GuardianshipRestriction,
    PortalAccessChange,
)
from tests import factories as f
from tests.conftest import otp_login
from tests.factories_portal_tracker import guardian_with_login

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ADD = "admin:journey_guardianshiprestriction_add"


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.WAYPOINT_PRIVATE_MEDIA_ROOT = tmp_path


@pytest.fixture
def link(center_a):
    guardian = guardian_with_login(center_a, "co@example.org", full_name="Cory Co")
    child = f.PatientFactory(center=center_a, first_name="Amaryllis")
    f.GuardianshipFactory(patient=child, is_primary=True)
    return Guardianship.objects.create(guardian=guardian, patient=child)


def _restrict(client, link, **extra):
    data = {
        "guardianship": link.pk,
        "kind": "no_access",
        "reason": "Court order 2026/114",
        "document": SimpleUploadedFile("order.pdf", PDF, content_type="application/pdf"),
        **extra,
    }
    return client.post(reverse(ADD), data)


@pytest.mark.django_db
def test_coordinator_restricts_with_the_document_and_lifts_it(client, link, coordinator_a):
    otp_login(client, coordinator_a)
    response = _restrict(client, link)
    assert response.status_code == 302, response.content.decode()[:2000]
    restriction = GuardianshipRestriction.objects.get()
    assert (restriction.created_by, restriction.kind) == (coordinator_a, "no_access")
    assert PortalAccessChange.objects.filter(
        guardian=link.guardian, action="restricted", by=coordinator_a
    ).exists()
    portal = client.__class__()
    portal.force_login(link.guardian.user)
    assert portal.get(reverse("portal:child", args=[link.patient.public_id])).status_code == 404

    url = reverse("admin:journey_guardianshiprestriction_document", args=[restriction.pk])
    download = client.get(url)
    assert download.status_code == 200
    assert "no-store" in download["Cache-Control"] and "private" in download["Cache-Control"]
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == PDF

    change = reverse("admin:journey_guardianshiprestriction_change", args=[restriction.pk])
    assert client.post(change, {"lift_reason": "Order set aside"}).status_code == 302
    restriction.refresh_from_db()
    assert restriction.ends_at is not None and restriction.ended_by == coordinator_a
    assert portal.get(reverse("portal:child", args=[link.patient.public_id])).status_code == 200


@pytest.mark.django_db
def test_a_restriction_without_a_real_document_is_refused(client, link, coordinator_a):
    otp_login(client, coordinator_a)
    fake = SimpleUploadedFile("order.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    response = _restrict(client, link, document=fake)
    assert response.status_code == 200
    assert "Attach a PDF or a photo" in response.content.decode()
    assert not GuardianshipRestriction.objects.exists()


@pytest.mark.django_db
def test_another_center_neither_picks_nor_opens_center_as_rows(
    client, link, coordinator_a, coordinator_b
):
    otp_login(client, coordinator_a)
    _restrict(client, link)
    restriction = GuardianshipRestriction.objects.get()
    client.logout()
    otp_login(client, coordinator_b)
    response = _restrict(client, link)
    assert response.status_code == 200  # the form answers "not one of the choices"
    assert GuardianshipRestriction.objects.count() == 1
    for name in ["change", "document"]:
        url = reverse(f"admin:journey_guardianshiprestriction_{name}", args=[restriction.pk])
        assert client.get(url).status_code == 404
    listing = client.get(reverse("admin:journey_guardianshiprestriction_changelist"))
    assert "Amaryllis" not in listing.content.decode()


@pytest.mark.django_db
def test_coordinator_records_an_adult_guardianship(client, link, coordinator_a):
    otp_login(client, coordinator_a)
    data = {
        "guardianship": link.pk,
        "reason": "Appointed guardian of the adult",
        "document": SimpleUploadedFile("appointment.pdf", PDF, content_type="application/pdf"),
    }
    response = client.post(reverse("admin:journey_adultguardianship_add"), data)
    assert response.status_code == 302
    record = AdultGuardianship.objects.get()
    assert record.recorded_by == coordinator_a
    assert PortalAccessChange.objects.filter(action="adult_guardianship").exists()
