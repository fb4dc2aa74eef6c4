"""Outside results: the uploaded file, who may fetch it, and the care team's side.

GIVEN Mia's guardian A and Leo's guardian B at center A; coordinators of centers A and B
WHEN  A uploads a photo or PDF (or something that only pretends to be one), and people ask
      for the file, the worklist, the admin list and the check page
THEN  the type is read from the content (a renamed .exe is refused), the size is limited,
      the file is stored outside the web root under a random name; only A and center A's
      staff get it (as a download, no-store, nosniff); everyone else gets 404; the check page
      records the result or says by the field what is wrong; every step is audited.
"""

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditRecord, Event
from reports import outside
from reports.models import OutsideResult, OutsideStatus
from tests.conftest import otp_login
from tests.factories_outside import (
    EXE,
    JPEG,
    NOW,
    PDF,
    PNG,
    leo_guardian,
    mia_on_day84,
    staff_draw,
    upload,
)
from tracker.models import LabResult, LabTest

pytestmark = pytest.mark.django_db
WORKLIST = reverse("admin:tracker_worklist_changelist")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path):
    settings.WAYPOINT_PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return tmp_path / "private"


@pytest.fixture
def mia(center_a):
    guardian, child, journey = mia_on_day84(center_a)
    staff_draw(journey, {"AST": "30", "TBIL": "0.5", "INR": "1.0"})
    return guardian, child, journey


def new_url(child):
    return reverse("portal_reports:outside_new", args=[child.public_id])


def send_file(client, mia, file):
    guardian, child, _journey = mia
    client.force_login(guardian.user)
    return client.post(new_url(child), {"upload": file})


def file_url(report):
    return reverse("portal_reports:outside_file", args=[report.patient.public_id, report.public_id])


def admin_file_url(report):
    return reverse("admin:reports_outsideresult_file", args=[report.pk])


def check_url(report):
    return reverse("admin:reports_outsideresult_check", args=[report.pk])


def sent_report(mia):
    guardian, _child, journey = mia
    return outside.submit_outside_result(guardian, journey, upload=upload())


# ---- the type by content, the size, the storage ----


@pytest.mark.parametrize(
    ("content", "name", "kind"),
    [(PDF, "report.pdf", "pdf"), (PNG, "photo.png", "png"), (JPEG, "IMG_0042.jpeg", "jpg")],
)
def test_a_photo_or_pdf_is_kept_under_a_random_name_outside_the_web_root(
    client, mia, private_root, settings, content, name, kind
):
    response = send_file(client, mia, upload(content, name))
    assert response.status_code == 302
    report = OutsideResult.objects.get()
    assert report.file_type == kind and report.file_name == name
    stored = private_root / report.file.name
    assert stored.read_bytes() == content
    assert name.rsplit(".", 1)[0] not in report.file.name
    assert report.file.name.startswith("outside/") and report.file.name.endswith(f".{kind}")
    assert not str(stored).startswith(str(settings.STATIC_ROOT))


@pytest.mark.parametrize(
    "content",
    [EXE, b"<html><script>alert(1)</script></html>", b"GIF89a" + b"\x00" * 40, b"\x00" * 300],
)
def test_a_file_that_only_pretends_to_be_a_pdf_is_refused(client, mia, content):
    response = send_file(client, mia, upload(content, "report.pdf", "application/pdf"))
    assert response.status_code == 200
    assert "upload" in response.context["form"].errors
    assert not OutsideResult.objects.exists()


def test_an_empty_file_is_refused_by_the_field(client, mia):
    response = send_file(client, mia, upload(b"", "report.pdf"))
    assert response.status_code == 200
    assert "upload" in response.context["form"].errors
    assert not OutsideResult.objects.exists()


def test_a_file_over_the_size_limit_is_refused(client, mia, settings, private_root):
    settings.REPORTS_UPLOAD_MAX_BYTES = 1024
    response = send_file(client, mia, upload(PDF + b"\x00" * 1024))
    assert response.status_code == 200
    assert "1.0\xa0KB" in str(response.context["form"].errors["upload"])
    assert not OutsideResult.objects.exists()
    assert not private_root.exists() or not any(private_root.rglob("*.pdf"))


def test_a_long_file_name_is_refused_by_the_field(client, mia):
    response = send_file(client, mia, upload(PDF, "x" * 200 + ".pdf"))
    assert response.status_code == 200
    assert "upload" in response.context["form"].errors


@override_settings(WAYPOINT_RATE_LIMITS={"outside_result": {"user": "2/h"}})
def test_sending_is_rate_limited(client, mia):
    codes = [send_file(client, mia, upload()).status_code for _ in range(3)]
    assert codes == [302, 302, 429]
    assert OutsideResult.objects.count() == 2


# ---- who may fetch the file ----


def test_the_guardian_gets_the_file_as_a_download(client, mia):
    report = sent_report(mia)
    client.force_login(mia[0].user)
    response = client.get(file_url(report))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "Mia" not in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_another_family_gets_404_for_the_file_and_the_form(client, mia, center_a):
    report = sent_report(mia)
    client.force_login(leo_guardian(center_a).user)
    assert client.get(file_url(report)).status_code == 404
    assert client.get(new_url(report.patient)).status_code == 404
    assert client.post(new_url(report.patient), {"upload": upload()}).status_code == 404


def test_center_staff_get_the_file_and_other_centers_get_404(
    client, mia, coordinator_a, coordinator_b
):
    report = sent_report(mia)
    otp_login(client, coordinator_a)
    response = client.get(admin_file_url(report))
    assert response.status_code == 200 and response["X-Content-Type-Options"] == "nosniff"
    client.logout()
    otp_login(client, coordinator_b)
    assert client.get(admin_file_url(report)).status_code == 404
    assert client.get(check_url(report)).status_code == 404
    change = reverse("admin:reports_outsideresult_change", args=[report.pk])
    assert client.get(change).status_code == 404


def test_a_staff_download_of_the_file_is_recorded_as_a_view(client, mia, coordinator_a):
    report = sent_report(mia)
    otp_login(client, coordinator_a)
    ct = ContentType.objects.get_for_model(report)
    viewed = AuditRecord.objects.filter(content_type=ct, object_id=report.pk, event=Event.VIEWED)
    assert not viewed.exists()
    assert client.get(admin_file_url(report)).status_code == 200
    record = viewed.get()
    assert (record.actor, record.patient_id) == (coordinator_a, report.patient_id)


def test_a_logged_out_visitor_never_gets_the_file(client, mia):
    report = sent_report(mia)
    assert client.get(file_url(report)).status_code == 302
    assert client.get(admin_file_url(report)).status_code == 302


# ---- the care team: worklist, check page, audit ----


def test_the_worklist_shows_pending_reports_of_the_center_only(
    client, mia, coordinator_a, coordinator_b
):
    sent_report(mia)
    otp_login(client, coordinator_a)
    page = client.get(WORKLIST).content.decode()
    assert "Results from other labs: reported by family, not verified" in page
    assert "Mia Rivera" in page
    client.logout()
    otp_login(client, coordinator_b)
    assert "Mia Rivera" not in client.get(WORKLIST).content.decode()


def test_worklist_queries_do_not_grow_with_outside_results(
    client, mia, coordinator_a, django_assert_max_num_queries
):
    guardian, _child, journey = mia
    alt = LabTest.objects.get(code="ALT")
    typed = {"test": alt, "value": "20", "unit": "U/L", "collected_on": NOW.date()}
    outside.submit_outside_result(guardian, journey, upload=upload(), **typed)
    otp_login(client, coordinator_a)
    client.get(WORKLIST)  # warm: session, permissions
    with CaptureQueriesContext(connection) as one:
        client.get(WORKLIST)
    for _ in range(10):
        outside.submit_outside_result(guardian, journey, upload=upload(), **typed)
    with django_assert_max_num_queries(len(one)):
        page = client.get(WORKLIST).content.decode()
    assert page.count(reverse("admin:reports_outsideresult_changelist")) >= 11


def test_the_check_page_records_the_result(client, mia, coordinator_a):
    report = sent_report(mia)
    otp_login(client, coordinator_a)
    page = client.get(check_url(report)).content.decode()
    assert "Reported by family, not verified" in page
    alt = LabTest.objects.get(code="ALT")
    data = {"decision": "verify", "test": alt.pk, "value": "20", "unit": "U/L"}
    response = client.post(check_url(report), dict(data, collected_on="2026-03-30"))
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == OutsideStatus.VERIFIED and report.verified_by == coordinator_a
    assert LabResult.objects.get(test=alt).value_entered == "20"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"value": "9999999"}, "value"),
        ({"collected_on": "2030-01-01"}, "collected_on"),
        ({"unit": "ratio"}, "unit"),
        ({"collected_on": ""}, "collected_on"),
        ({"decision": "reject", "note": ""}, "note"),
        ({"decision": "bogus"}, "decision"),
    ],
)
def test_the_check_page_explains_bad_input_by_the_field(client, mia, coordinator_a, data, field):
    report = sent_report(mia)
    otp_login(client, coordinator_a)
    alt = LabTest.objects.get(code="ALT")
    fields = {"decision": "verify", "test": alt.pk, "value": "20", "unit": "U/L"}
    fields.update({"collected_on": "2026-03-30"} | data)
    response = client.post(check_url(report), fields)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    report.refresh_from_db()
    assert report.status == OutsideStatus.PENDING
    assert not LabResult.objects.filter(test=alt).exists()


def test_sending_and_checking_are_audited(client, mia, coordinator_a):
    guardian, child, _journey = mia
    send_file(client, mia, upload())
    report = OutsideResult.objects.get()
    ct = ContentType.objects.get_for_model(report)
    records = AuditRecord.objects.filter(content_type=ct, object_id=report.pk)
    created = records.get(event=Event.CREATED)
    assert created.actor == guardian.user
    assert (created.patient_id, created.guardian_id) == (child.pk, guardian.pk)
    client.logout()
    otp_login(client, coordinator_a)
    client.post(check_url(report), {"decision": "reject", "note": "Another child's report"})
    updated = records.get(event=Event.UPDATED)
    assert updated.actor == coordinator_a
    assert updated.after["status"] == OutsideStatus.REJECTED
    assert updated.reason == "Another child's report"


# ---- the family's labs page ----


def test_the_labs_page_lists_pending_reports_with_a_constant_query_count(
    client, mia, django_assert_num_queries
):
    guardian, child, journey = mia
    labs = reverse("portal_tracker:labs", args=[child.public_id])
    client.force_login(guardian.user)
    alt = LabTest.objects.get(code="ALT")
    typed = {"test": alt, "value": "20", "unit": "U/L", "collected_on": NOW.date()}
    outside.submit_outside_result(guardian, journey, upload=upload(), **typed)
    client.get(labs)  # warm: session
    with CaptureQueriesContext(connection) as one:
        client.get(labs)
    for _ in range(4):
        outside.submit_outside_result(guardian, journey, upload=upload(), **typed)
    with django_assert_num_queries(len(one.captured_queries)):
        page = client.get(labs).content.decode()
    assert page.count("Sent to your care team, not checked yet") == 6  # intro + 5 rows
    assert page.count("The file you sent") == 5


def test_the_labs_page_is_in_spanish(client, mia):
    guardian, child, journey = mia
    guardian.language = "es"
    guardian.save()
    outside.submit_outside_result(guardian, journey, upload=upload())
    client.force_login(guardian.user)
    page = client.get(reverse("portal_tracker:labs", args=[child.public_id])).content.decode()
    assert "Resultados de otros laboratorios" in page


def test_a_critical_value_asks_to_confirm_once_as_on_the_staff_entry(client, mia, coordinator_a):
    report = sent_report(mia)
    otp_login(client, coordinator_a)
    alt = LabTest.objects.get(code="ALT")
    data = {"decision": "verify", "test": alt.pk, "value": "900", "unit": "U/L"}
    data["collected_on"] = "2026-03-30"
    asked = client.post(check_url(report), data)
    assert asked.status_code == 200 and asked.context["warnings"]
    assert not LabResult.objects.filter(test=alt).exists()
    token = asked.context["form"].data["confirm"]
    assert client.post(check_url(report), dict(data, confirm=token)).status_code == 302
    assert LabResult.objects.get(test=alt).flag.startswith("critical")


def test_a_child_without_a_journey_has_no_form_and_no_link(client, center_a):
    from tests.factories_portal import family

    guardian, child = family(center_a, first_name="Zoe", email="zoe@example.org")
    client.force_login(guardian.user)
    assert client.get(new_url(child)).status_code == 404
    page = client.get(reverse("portal_tracker:labs", args=[child.public_id]))
    assert page.status_code == 200
    assert new_url(child) not in page.content.decode()
