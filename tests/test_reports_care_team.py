"""The care team's side of family reports: the alert email, the admin list, the worklist, audit.

GIVEN Mia's family (center A) and a family at center B, each with reports
WHEN  coordinators of A and B look at the admin list and the worklist, and answer
THEN  each sees only their center's reports (another center's answers 404), open ones on the
      worklist with the overdue first, who answered and when is kept, every step is in the
      audit trail, and the urgent alert email names neither the child nor what was reported.
"""

import datetime as dt

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.urls import reverse

from audit.models import AuditRecord, Event
from notifications import dispatch
from notifications.models import COORDINATOR_KINDS
from reports import services
from reports.models import Status, SymptomReport
from tests.conftest import otp_login
from tests.factories_portal import family
from tests.factories_reports import NOW, mia_family, run_tasks_inline

pytestmark = pytest.mark.django_db

LIST = reverse("admin:reports_symptomreport_changelist")
WORKLIST = reverse("admin:tracker_worklist_changelist")
RASH = "A small rash on her arm"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def mia(center_a):
    return mia_family(center_a)


def report(guardian, child, text=RASH, signs=(), at=NOW):
    return services.submit_report(guardian, child, None, list(signs), text, now=at)


def change_url(obj):
    return reverse("admin:reports_symptomreport_change", args=[obj.pk])


def records_for(obj, **filters):
    ct = ContentType.objects.get_for_model(obj)
    return AuditRecord.objects.filter(content_type=ct, object_id=obj.pk, **filters)


# ---- the alert email: no health detail ----


def test_the_urgent_alert_email_says_only_a_family_sent_a_report(
    client, mia, coordinator_a, monkeypatch, django_capture_on_commit_callbacks
):
    run_tasks_inline(monkeypatch)
    guardian, child, _ = mia
    client.force_login(guardian.user)
    sign = {"en": "Yellow skin (jaundice)", "es": "Piel amarilla (ictericia)"}
    with django_capture_on_commit_callbacks(execute=True):
        services.submit_report(guardian, child, None, [sign], "vomiting twice", now=NOW)
    coordinator_a.language = "es"
    coordinator_a.save()
    dispatch.dispatch_due(kinds=COORDINATOR_KINDS)
    [email] = mail.outbox
    assert email.to == [coordinator_a.email]
    texts = [email.subject, email.body, email.alternatives[0][0]]
    assert "Una familia de Center A envió un aviso urgente" in email.body
    for text in texts:
        for secret in ("Mia", "Rivera", "ictericia", "jaundice", "vomiting", "Zolgensma"):
            assert secret not in text


# ---- the admin list: scoped, answered with who and when ----


def test_coordinators_see_only_their_centers_reports(
    client, mia, center_b, coordinator_a, coordinator_b
):
    guardian, child, _ = mia
    ours = report(guardian, child)
    theirs = report(*family(center_b, first_name="Noor", email="noor@example.org"))
    otp_login(client, coordinator_a)
    page = client.get(LIST).content.decode()
    assert "Mia Rivera" in page and "Noor" not in page
    assert client.get(change_url(ours)).status_code == 200
    assert client.get(change_url(theirs)).status_code == 404
    response = client.post(change_url(theirs), {"answer_note": "called"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Status.OPEN


def test_saving_a_note_answers_the_report_with_who_and_when(client, mia, coordinator_a):
    guardian, child, _ = mia
    open_report = report(guardian, child)
    otp_login(client, coordinator_a)
    later = NOW + dt.timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        response = client.post(change_url(open_report), {"answer_note": "Called, rash is fine"})
    assert response.status_code == 302
    open_report.refresh_from_db()
    assert open_report.status == Status.ANSWERED
    assert open_report.answered_by == coordinator_a and open_report.answered_at == later
    assert open_report.answer_note == "Called, rash is fine"
    page = client.get(LIST).content.decode()
    assert coordinator_a.full_name in page or coordinator_a.email in page


def test_a_note_over_its_maxlength_is_explained_and_nothing_changes(client, mia, coordinator_a):
    guardian, child, _ = mia
    open_report = report(guardian, child)
    otp_login(client, coordinator_a)
    response = client.post(change_url(open_report), {"answer_note": "x" * 501})
    assert response.status_code == 200
    assert "at most 500 characters" in response.content.decode()
    open_report.refresh_from_db()
    assert open_report.status == Status.OPEN


def test_the_answer_action_marks_reports_answered_once(client, mia, coordinator_a):
    guardian, child, _ = mia
    first, second = report(guardian, child), report(guardian, child, text="fever")
    services.answer_report(second, coordinator_a, now=NOW)
    otp_login(client, coordinator_a)
    data = {"action": "mark_answered", "_selected_action": [first.pk, second.pk]}
    client.post(LIST, data)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Status.ANSWERED and first.answered_by == coordinator_a
    assert second.answered_at == NOW  # answered before: untouched


# ---- the worklist: open reports, overdue first ----


def test_worklist_lists_open_reports_of_the_center_overdue_first(
    client, mia, center_b, coordinator_a
):
    guardian, child, _ = mia
    report(guardian, child, text="new one")  # respond by NOW + 24 h
    old = report(guardian, child, text="old one", at=NOW - dt.timedelta(hours=30))
    answered = report(guardian, child, text="answered one")
    services.answer_report(answered, coordinator_a)
    report(*family(center_b, first_name="Noor", email="noor@example.org"))
    otp_login(client, coordinator_a)
    page = client.get(WORKLIST).content.decode()
    section = page[page.index('id="family-reports"') :]
    rows = section[: section.index("</table>")]
    new = SymptomReport.objects.get(text="new one")
    assert rows.count("Mia Rivera") == 2 and "Noor" not in rows
    assert rows.count("Overdue") == 1
    assert rows.index(change_url(old)) < rows.index("Overdue") < rows.index(change_url(new))


def test_worklist_queries_do_not_grow_with_reports(
    client, mia, coordinator_a, django_assert_max_num_queries
):
    guardian, child, _ = mia
    report(guardian, child)
    otp_login(client, coordinator_a)
    client.get(WORKLIST)  # warm: session, permissions
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(WORKLIST)
    for i in range(20):
        report(guardian, child, text=f"report {i}")
    with django_assert_max_num_queries(len(one)):
        client.get(WORKLIST)


# ---- audit ----


def test_sending_and_answering_are_audited(
    client, mia, coordinator_a, django_capture_on_commit_callbacks
):
    guardian, child, _ = mia
    client.force_login(guardian.user)
    url = reverse("portal_reports:new", kwargs={"public_id": child.public_id})
    client.post(url, {"text": RASH})
    sent = SymptomReport.objects.get()
    created = records_for(sent, event=Event.CREATED).get()
    assert created.actor == guardian.user
    assert created.patient_id == child.pk and created.guardian_id == guardian.pk
    assert created.after["text"] == RASH
    client.logout()
    otp_login(client, coordinator_a)
    client.post(change_url(sent), {"answer_note": "Called back"})
    updated = records_for(sent, event=Event.UPDATED).get()
    assert updated.actor == coordinator_a
    assert updated.after["status"] == Status.ANSWERED
    assert updated.reason == "Called back"


# ---- planning: the critical-alert path ----


def test_an_urgent_report_is_planned_like_a_critical_result_for_every_coordinator():
    from notifications import planning as p
    from notifications.models import Kind

    at = dt.datetime(2025, 3, 8, 8, tzinfo=dt.UTC)  # 02:00 in Chicago, 21:00 in Auckland
    coordinators = [
        p.Recipient("u", 20, "America/Chicago"),
        p.Recipient("u", 21, "Pacific/Auckland"),
    ]
    inputs = p.PatientInputs(1, 2, 3, coordinators=coordinators)
    inputs.urgent_reports = [p.UrgentReport(7, at)]
    plan = p.plan_patient(inputs, at + dt.timedelta(minutes=1))
    assert [(d.kind, d.recipient.id, d.send_at) for d in plan] == [
        (Kind.URGENT_REPORT, 20, at),
        (Kind.URGENT_REPORT, 21, at),
    ]
    assert len({d.key for d in plan}) == 2
    # Two days later it is history: not planned again.
    assert p.plan_patient(inputs, at + p.RECENT + dt.timedelta(minutes=1)) == []
