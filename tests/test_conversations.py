"""Secure messages: a guardian writes to the care team, the team answers from the admin.

GIVEN Mia's guardians A and A2 and Leo's guardian B at center A; coordinators of A and B
WHEN  A writes (with a photo or PDF, or something pretending to be one), the team reads,
      replies, assigns and closes, time passes, A's guardianship ends
THEN  the thread is in center A's inbox only; each person has their own unread count; the
      emails say only "a message is waiting" (one per burst); the file is served only to the
      child's guardians and center A's staff; every message and view is audited; an overdue
      thread (in business hours) is on the worklist; outsiders get 404 everywhere.
"""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditRecord, Event
from conversations import services
from conversations.models import EventKind, Message, Thread, ThreadStatus
from journey.models import Guardianship
from notifications import dispatch
from notifications.models import Kind, Reminder, Status
from tests.conftest import otp_login
from tests.factories_conversations import (
    EXE,
    NOW,
    SECRET,
    admin_file_url,
    admin_thread_url,
    file_url,
    leo_guardian,
    list_url,
    mia_family,
    new_url,
    thread_url,
    upload,
)

pytestmark = pytest.mark.django_db
WORKLIST = reverse("admin:tracker_worklist_changelist")
INBOX = reverse("admin:conversations_thread_changelist")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path):
    settings.WAYPOINT_PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return tmp_path / "private"


@pytest.fixture
def mia(center_a):
    return mia_family(center_a)


def write(client, guardian, child, capture, subject="Rash", body=SECRET, file=None):
    client.force_login(guardian.user)
    data = {"subject": subject, "body": body}
    if file is not None:
        data["upload"] = file
    with capture(execute=True):
        return client.post(new_url(child), data)


def started(client, mia, capture, **kwargs):
    guardian, _, child = mia
    response = write(client, guardian, child, capture, **kwargs)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Thread.objects.get(patient=child)


# ---- the family writes; the care team's inbox ----


def test_a_guardians_message_reaches_the_centers_unassigned_inbox(
    client, mia, coordinator_a, django_capture_on_commit_callbacks
):
    thread = started(client, mia, django_capture_on_commit_callbacks)
    assert thread.status == ThreadStatus.CARE_TEAM
    assert thread.center == mia[2].center
    # Monday 10:00 in New York + 8 business hours: 18:00 -> Tuesday 10:00.
    assert thread.respond_by == dt.datetime(2025, 12, 2, 15, 0, tzinfo=dt.UTC)
    otp_login(client, coordinator_a)
    page = client.get(INBOX, {"inbox": "unassigned"}).content.decode()
    assert "Rash" in page
    assert '<td class="field-unread_count">1</td>' in page
    assert "Rash" not in client.get(INBOX, {"inbox": "mine"}).content.decode()
    assert SECRET in client.get(admin_thread_url(thread)).content.decode()
    page = client.get(INBOX, {"inbox": "unassigned"}).content.decode()
    assert '<td class="field-unread_count">-</td>' in page  # read by this coordinator now


def test_another_centers_coordinator_neither_lists_nor_opens_the_thread(
    client, mia, coordinator_b, django_capture_on_commit_callbacks
):
    thread = started(client, mia, django_capture_on_commit_callbacks)
    message = thread.messages.get()
    otp_login(client, coordinator_b)
    assert "Rash" not in client.get(INBOX).content.decode()
    assert client.get(admin_thread_url(thread)).status_code == 404
    assert client.get(admin_file_url(message)).status_code == 404


def test_another_family_gets_404_on_every_message_page(
    client, mia, center_a, django_capture_on_commit_callbacks
):
    thread = started(client, mia, django_capture_on_commit_callbacks, file=upload())
    message = thread.messages.get()
    client.force_login(leo_guardian(center_a).user)
    child = mia[2]
    for url in [list_url(child), new_url(child), thread_url(thread), file_url(message)]:
        assert client.get(url).status_code == 404, url
    assert client.post(thread_url(thread), {"body": "hello"}).status_code == 404
    assert thread.messages.count() == 1


def test_a_guardian_whose_link_ended_loses_the_threads_at_once(
    client, mia, django_capture_on_commit_callbacks
):
    thread = started(client, mia, django_capture_on_commit_callbacks)
    guardian, _, child = mia
    assert client.get(thread_url(thread)).status_code == 200
    Guardianship.objects.filter(guardian=guardian, patient=child).delete()
    assert client.get(list_url(child)).status_code == 404
    assert client.get(thread_url(thread)).status_code == 404
    assert client.post(thread_url(thread), {"body": "still there?"}).status_code == 404


def test_a_view_only_guardian_reads_the_thread_but_cannot_write(
    client, mia, django_capture_on_commit_callbacks
):
    """The role decides on the next request: view-only reads, gets 403 on every write."""
    thread = started(client, mia, django_capture_on_commit_callbacks)
    _, other, child = mia
    Guardianship.objects.filter(guardian=other, patient=child).update(
        role=Guardianship.Role.VIEW_ONLY, is_primary=False
    )
    client.force_login(other.user)
    assert client.get(thread_url(thread)).status_code == 200
    assert client.post(thread_url(thread), {"body": "can I?"}).status_code == 403
    assert client.get(new_url(child)).status_code == 403
    assert client.post(new_url(child), {"subject": "x", "body": "y"}).status_code == 403
    assert thread.messages.count() == 1


# ---- replies and read state per person ----


def test_a_reply_shows_as_new_to_each_guardian_until_they_read_it(
    client, mia, coordinator_a, frozen, django_capture_on_commit_callbacks
):
    thread = started(client, mia, django_capture_on_commit_callbacks)
    guardian, second, child = mia
    frozen.shift(dt.timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        services.post_message(thread, coordinator_a, "Please send a photo.")
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.FAMILY and thread.respond_by is None
    client.force_login(guardian.user)
    assert "1 new message" in client.get(list_url(child)).content.decode()
    assert "Please send a photo." in client.get(thread_url(thread)).content.decode()
    assert "1 new message" not in client.get(list_url(child)).content.decode()
    client.force_login(second.user)  # the other guardian has not read it
    assert "2 new messages" in client.get(list_url(child)).content.decode()


def test_the_family_answering_restarts_the_clock_and_reopens_a_closed_thread(
    client, mia, coordinator_a, django_capture_on_commit_callbacks
):
    thread = started(client, mia, django_capture_on_commit_callbacks)
    services.close(thread, coordinator_a)
    client.force_login(mia[0].user)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(thread_url(thread), {"body": "It is back"}).status_code == 302
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.CARE_TEAM and thread.respond_by is not None
    kinds = list(thread.events.values_list("kind", flat=True))
    assert kinds == [EventKind.OPENED, EventKind.CLOSED, EventKind.REOPENED]


# ---- attachments: the results' upload rules ----


def test_a_pdf_is_kept_under_a_random_name_and_served_to_family_and_center_staff(
    client, mia, coordinator_a, private_root, django_capture_on_commit_callbacks
):
    thread = started(client, mia, django_capture_on_commit_callbacks, file=upload())
    message = thread.messages.get()
    assert message.file_type == "pdf"
    assert "rash" not in message.file.name.lower()
    assert (private_root / message.file.name).exists()
    response = client.get(file_url(message))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    otp_login(client, coordinator_a)
    assert client.get(admin_file_url(message)).status_code == 200
    views = AuditRecord.objects.filter(event=Event.VIEWED, content_type__model="thread")
    assert views.filter(actor=coordinator_a, path=admin_file_url(message)).exists()
    assert views.filter(actor=mia[0].user, path=file_url(message)).exists()


def test_a_file_that_only_pretends_to_be_a_pdf_is_refused(
    client, mia, django_capture_on_commit_callbacks
):
    guardian, _, child = mia
    response = write(client, guardian, child, django_capture_on_commit_callbacks, file=upload(EXE))
    assert response.status_code == 200
    assert "Attach a photo (JPEG or PNG) or a PDF." in response.content.decode()
    assert not Thread.objects.exists()


def test_a_file_over_the_size_limit_is_refused(
    client, mia, settings, django_capture_on_commit_callbacks
):
    settings.REPORTS_UPLOAD_MAX_BYTES = 10
    guardian, _, child = mia
    response = write(client, guardian, child, django_capture_on_commit_callbacks, file=upload())
    assert "The file is larger than" in response.content.decode()
    assert not Message.objects.exists()


# ---- emails: "a message is waiting", nothing more, one per burst ----


def test_one_email_per_burst_to_the_coordinators_with_no_message_text(
    client, mia, coordinator_a, frozen, django_capture_on_commit_callbacks
):
    thread = started(client, mia, django_capture_on_commit_callbacks)
    for i in range(8):  # nine messages within a second
        with django_capture_on_commit_callbacks(execute=True):
            services.post_message(thread, mia[0].user, f"{SECRET} {i}", guardian=mia[0])
    rows = Reminder.objects.filter(kind=Kind.MESSAGE_WAITING_STAFF)
    assert rows.count() == 1
    frozen.shift(dt.timedelta(minutes=3))
    dispatch.dispatch_due()
    [email] = mail.outbox
    assert email.to == [coordinator_a.email]
    everything = email.subject + email.body + email.alternatives[0][0]
    assert "A family message is waiting" in email.subject
    for secret in [SECRET, "Rash", "Mia", "Rivera"]:
        assert secret not in everything
    assert "/admin/conversations/thread/" in email.body


def test_the_reply_emails_each_guardian_unless_they_read_it_first(
    client, mia, coordinator_a, frozen, django_capture_on_commit_callbacks
):
    thread = started(client, mia, django_capture_on_commit_callbacks)
    guardian, second, child = mia
    frozen.shift(dt.timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        services.post_message(thread, coordinator_a, SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(thread_url(thread))  # guardian A reads it within the two minutes
    frozen.shift(dt.timedelta(minutes=3))
    dispatch.dispatch_due()
    [email] = mail.outbox
    assert email.to == [second.email]
    assert SECRET not in email.body + email.alternatives[0][0]
    assert f"/portal/children/{child.public_id}/messages/" in email.body
    cancelled = Reminder.objects.get(kind=Kind.MESSAGE_WAITING, guardian=guardian)
    assert cancelled.status == Status.CANCELLED


def test_a_guardian_who_lost_access_before_the_send_gets_no_email(
    client, mia, coordinator_a, frozen, django_capture_on_commit_callbacks
):
    thread = started(client, mia, django_capture_on_commit_callbacks)
    guardian, second, child = mia
    frozen.shift(dt.timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        services.post_message(thread, coordinator_a, "Answer")
    Guardianship.objects.filter(guardian=second).delete()
    frozen.shift(dt.timedelta(minutes=3))
    dispatch.dispatch_due()
    assert [m.to for m in mail.outbox] == [[guardian.email]]


def test_the_reminder_sweep_leaves_a_waiting_message_email_alone(
    client, mia, coordinator_a, frozen, django_capture_on_commit_callbacks
):
    from journey.models import Stage
    from notifications import sweep
    from tests.factories import JourneyFactory

    guardian, _, child = mia
    JourneyFactory(patient=child, center=child.center, stage=Stage.MONITORING)
    started(client, mia, django_capture_on_commit_callbacks)
    sweep.reconcile(patient_ids=[child.pk])
    sweep.reconcile()
    row = Reminder.objects.get(kind=Kind.MESSAGE_WAITING_STAFF)
    assert row.status == Status.PENDING and row.user == coordinator_a


# ---- audit, rate limit, the worklist ----


def test_every_message_and_every_view_is_audited(
    client, mia, coordinator_a, django_capture_on_commit_callbacks
):
    thread = started(client, mia, django_capture_on_commit_callbacks)
    client.get(thread_url(thread))
    otp_login(client, coordinator_a)
    client.get(admin_thread_url(thread))
    child = mia[2]
    created = AuditRecord.objects.filter(event=Event.CREATED, patient_id=child.pk)
    assert created.filter(content_type__model="message").count() == 1
    views = AuditRecord.objects.filter(event=Event.VIEWED, content_type__model="thread")
    assert sorted(views.values_list("actor__email", flat=True)) == sorted(
        [mia[0].email, coordinator_a.email]
    )
    assert set(views.values_list("patient_id", flat=True)) == {child.pk}


def test_writing_is_rate_limited(client, mia, settings, django_capture_on_commit_callbacks):
    settings.WAYPOINT_RATE_LIMITS = {"secure_message": {"user": "2/h"}}
    guardian, _, child = mia
    codes = [
        write(client, guardian, child, django_capture_on_commit_callbacks).status_code
        for _ in range(3)
    ]
    assert codes == [302, 302, 429]
    assert Thread.objects.count() == 2


def test_a_thread_past_its_business_hours_clock_is_on_the_worklist(
    client, mia, coordinator_a, coordinator_b, frozen, django_capture_on_commit_callbacks
):
    thread = started(client, mia, django_capture_on_commit_callbacks)
    frozen.move_to(NOW + dt.timedelta(hours=23))  # Tuesday 09:00: 7 business hours later
    otp_login(client, coordinator_a)
    response = client.get(WORKLIST)
    assert response.status_code == 200, response
    assert "Rash" not in response.content.decode()
    frozen.move_to(thread.respond_by + dt.timedelta(minutes=1))
    otp_login(client, coordinator_a)  # a fresh session: the staff session's idle limit passed
    page = client.get(WORKLIST).content.decode()
    assert "Rash" in page and "Family messages past their response time" in page
    otp_login(client, coordinator_b)
    assert "Rash" not in client.get(WORKLIST).content.decode()


# ---- the coordinators' console ----


def test_assign_to_a_colleague_reply_and_close_from_the_admin(
    client, mia, coordinator_a, center_a, django_capture_on_commit_callbacks
):
    from tests.factories import CoordinatorFactory

    colleague = CoordinatorFactory(email="colleague@example.org", center=center_a)
    thread = started(client, mia, django_capture_on_commit_callbacks)
    otp_login(client, coordinator_a)
    data = {
        "action": "assign_to_colleague",
        "assignee": colleague.pk,
        "_selected_action": thread.pk,
    }
    assert client.post(INBOX, data).status_code == 302
    thread.refresh_from_db()
    assert thread.assigned_to == colleague
    otp_login(client, colleague)
    assert "Rash" in client.get(INBOX, {"inbox": "mine"}).content.decode()
    form = {
        "assigned_to": colleague.pk,
        "reply": "We will call you today.",
        "close_thread": "on",
        "messages-TOTAL_FORMS": "1",
        "messages-INITIAL_FORMS": "1",
        "events-TOTAL_FORMS": "2",
        "events-INITIAL_FORMS": "2",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(admin_thread_url(thread), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.CLOSED
    assert thread.messages.filter(from_family=False, author=colleague).count() == 1
    assert "Rash" in client.get(INBOX, {"inbox": "closed"}).content.decode()


def test_a_colleague_of_another_center_cannot_be_assigned(mia, coordinator_a, coordinator_b):
    from django.core.exceptions import ValidationError

    guardian, _, child = mia
    thread = services.start_thread(guardian, child, "Rash", SECRET)
    with pytest.raises(ValidationError):
        services.assign(thread, coordinator_b, coordinator_a)


# ---- lists cost the same whatever their length ----


def queries(client, url, data=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, data)
    assert response.status_code == 200
    return len(captured), response.content.decode()


def add_threads(guardian, child, coordinator, numbers):
    for i in numbers:
        thread = services.start_thread(guardian, child, f"Question {i}", SECRET)
        services.post_message(thread, coordinator, "Answer")
        services.assign(thread, coordinator, coordinator)


def test_the_family_list_costs_the_same_for_two_or_six_threads(client, mia, coordinator_a):
    guardian, _, child = mia
    add_threads(guardian, child, coordinator_a, range(2))
    client.force_login(guardian.user)
    few, _ = queries(client, list_url(child))
    add_threads(guardian, child, coordinator_a, range(2, 6))
    many, page = queries(client, list_url(child))
    assert many == few <= 5  # (session,) user, guardian, child, the threads with unread counts
    assert all(f"Question {i}" in page for i in range(6))


def test_the_inbox_costs_the_same_for_two_or_six_threads(client, mia, coordinator_a):
    guardian, _, child = mia
    add_threads(guardian, child, coordinator_a, range(2))
    otp_login(client, coordinator_a)
    client.get(INBOX)  # the session's first staff page settles its own rows
    few, _ = queries(client, INBOX, {"inbox": "mine"})
    add_threads(guardian, child, coordinator_a, range(2, 6))
    many, page = queries(client, INBOX, {"inbox": "mine"})
    assert many == few <= 8
    assert all(f"Question {i}" in page for i in range(6))


def test_a_spanish_speaking_guardian_reads_the_pages_in_spanish(
    client, mia, django_capture_on_commit_callbacks
):
    guardian, _, child = mia
    guardian.user.language = guardian.language = "es"
    guardian.user.save()
    guardian.save()
    thread = started(client, mia, django_capture_on_commit_callbacks)
    page = client.get(list_url(child), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Mensajes sobre Mia" in page
    assert "Escribir un mensaje nuevo" in page
    assert (
        "Esperando al equipo de atención"
        in client.get(thread_url(thread), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    )
