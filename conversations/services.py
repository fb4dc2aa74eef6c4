"""The use cases: a guardian starts a thread or writes in one, the care team replies, assigns,
closes; anyone reads. Each state change locks the thread, leaves a ThreadEvent, and is told to
higher apps on commit (notifications plans the "a message is waiting" emails)."""

from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from journey import uploads
from journey.models import Membership

from . import hours, signals
from .models import BusinessHours, EventKind, Message, ReadMark, Thread, ThreadEvent
from .models import ThreadStatus as S


def upload_type(upload):
    """The attachment's FileType by its content (journey.uploads: the results' upload rules),
    or a ValidationError on "upload"."""
    wrong = _("Attach a photo (JPEG or PNG) or a PDF.")
    return uploads.checked_type(upload, field="upload", wrong_type=wrong)


def respond_by(center, now):
    """When the care team owes an answer to a family message written `now`."""
    row = BusinessHours.objects.filter(center=center).first()
    return hours.due_at(now, hours.Hours.of(row), center.time_zone)


def start_thread(guardian, patient, subject, body, upload=None, now=None):
    """A guardian writes to the child's care team: a new thread and its first message."""
    now = now or timezone.now()
    with transaction.atomic():
        thread = Thread.objects.create(
            patient=patient,
            center=patient.center,
            subject=subject.strip(),
            status=S.CARE_TEAM,
            created_at=now,
            last_message_at=now,
            respond_by=respond_by(patient.center, now),
        )
        ThreadEvent.objects.create(thread=thread, kind=EventKind.OPENED, by=guardian.user, at=now)
        _add_message(thread, guardian.user, guardian, body, upload, now)
    return thread


def post_message(thread, user, body, guardian=None, upload=None, now=None):
    """Someone writes in a thread: a guardian (`guardian` given) or the care team.

    The family writing starts the clock (unless it runs already) and reopens a closed thread;
    the team's reply stops it: the thread then waits on the family.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = Thread.objects.select_for_update().get(pk=thread.pk)
        if guardian is not None:
            if locked.status == S.CLOSED:
                ThreadEvent.objects.create(thread=locked, kind=EventKind.REOPENED, by=user, at=now)
            if locked.status != S.CARE_TEAM:
                locked.status, locked.respond_by = S.CARE_TEAM, respond_by(locked.center, now)
        else:
            locked.status, locked.respond_by = S.FAMILY, None
        locked.last_message_at = now
        locked.save(update_fields=["status", "respond_by", "last_message_at"])
        message = _add_message(locked, user, guardian, body, upload, now)
    return message


def _add_message(thread, user, guardian, body, upload, now):
    message = Message(
        thread=thread,
        author=user,
        guardian=guardian,
        from_family=guardian is not None,
        body=(body or "").strip(),
        created_at=now,
    )
    if upload is not None:
        message.file_type = upload_type(upload)
        message.file = upload
    message.save()
    _mark_read(thread, user, now)
    transaction.on_commit(partial(signals.message_posted.send, sender=Message, message=message))
    return message


def assign(thread, to, by, now=None):
    """Give the thread to a colleague of the thread's center (or take it: to=by)."""
    now = now or timezone.now()
    if not (to.is_active and to.is_staff) or not (
        to.is_superuser or Membership.objects.filter(user=to, center_id=thread.center_id).exists()
    ):
        raise ValidationError(_("Choose a colleague of this child's center."))
    with transaction.atomic():
        locked = Thread.objects.select_for_update().get(pk=thread.pk)
        if locked.assigned_to_id == to.pk:
            return False
        locked.assigned_to = to
        locked.save(update_fields=["assigned_to"])
        ThreadEvent.objects.create(thread=locked, kind=EventKind.ASSIGNED, by=by, to=to, at=now)
    return True


def close(thread, by, now=None):
    """Nothing more to say: the clock stops; a family message later reopens the thread."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Thread.objects.select_for_update().get(pk=thread.pk)
        if locked.status == S.CLOSED:
            return False
        locked.status, locked.respond_by = S.CLOSED, None
        locked.save(update_fields=["status", "respond_by"])
        ThreadEvent.objects.create(thread=locked, kind=EventKind.CLOSED, by=by, at=now)
        transaction.on_commit(
            partial(signals.thread_read.send, sender=Thread, thread=locked, user=by)
        )
    return True


def mark_read(thread, user, now=None):
    """This person has read the thread up to now."""
    with transaction.atomic():
        _mark_read(thread, user, now or timezone.now())


def _mark_read(thread, user, now):
    if user is None:
        return
    ReadMark.objects.update_or_create(thread=thread, user=user, defaults={"read_at": now})
    transaction.on_commit(
        partial(signals.thread_read.send, sender=Thread, thread=thread, user=user)
    )


def with_unread(threads, user):
    """`threads` annotated with `unread`: messages others wrote after this person last read."""
    mark = ReadMark.objects.filter(thread=OuterRef("pk"), user=user).values("read_at")[:1]
    others = ~Q(messages__author=user) | Q(messages__author__isnull=True)
    since = Q(read_at__isnull=True) | Q(messages__created_at__gt=F("read_at"))
    return threads.annotate(read_at=Subquery(mark)).annotate(
        unread=Count("messages", filter=others & since)
    )


def unread_total(threads, user):
    """How many messages in these threads this person has not read (one query)."""
    return sum(t.unread for t in with_unread(threads, user).only("pk"))
