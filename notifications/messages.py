"""The "a message is waiting" emails (and texts): planned per thread, whenever someone writes
or reads.

For each person who should hear of a thread (the child's guardians with a login when the care
team wrote; the assignee, or else every coordinator of the center, when the family wrote) and
has messages from the other side they have not read: one outbox row whose key names the first
of those unread messages. A burst of messages has one first unread message, so one email; it
waits DEBOUNCE after that message, so a quick run of messages, or the recipient reading them,
comes before the send. Reading cancels the row not sent yet. The email names nothing but the
center and a link: the content is only behind the login.

A guardian who chose texts (or both) for "messages waiting" (Preference.messages_channel) and
has a confirmed number that has not answered STOP gets a text row too, or instead: the same
key with "sms:" before it (planning.channel_key), the same send time, cancelled on reading
like the email. Without such a number: the email only (planning.channels_for).
"""

import datetime as dt
import re

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from conversations.models import Message, ReadMark, Thread
from conversations.models import ThreadStatus as TS
from journey.models import Guardianship, Membership

from .models import Channel, Kind, Preference, Reminder, Status
from .planning import channel_key, channels_for, to_prefs
from .sms.models import NumberStatus

DEBOUNCE = dt.timedelta(minutes=2)
# A burst some channel already told of (sent, or going out now): no other channel joins later.
TOLD = (Status.SENT, Status.SENDING)
THREAD_IN_KEY = re.compile(r":thread(\d+)\.m\d+:")


def plan_thread(thread_id, now=None):
    """Make the thread's pending "message waiting" rows match who has unread messages now.
    Returns (created or revived, cancelled)."""
    now = now or timezone.now()
    with transaction.atomic():
        # One planner per thread at a time (a burst of messages from two tabs or two people).
        thread = Thread.objects.select_for_update().filter(pk=thread_id).first()
        if thread is None:
            return 0, 0
        wanted = {row.key: row for row in _wanted(thread)}
        mine = Reminder.objects.filter(
            patient_id=thread.patient_id,
            kind__in=[Kind.MESSAGE_WAITING, Kind.MESSAGE_WAITING_STAFF],
            key__contains=f":thread{thread.pk}.",
        )
        # The wanted bursts' rows on every channel (a channel choice may have changed since).
        keys = {channel_key(_burst(key), c) for key in wanted for c in Channel.values}
        rows = mine.filter(key__in=keys).values_list("key", "status", "cancel_reason")
        found = {key: (status, reason) for key, status, reason in rows}
        told = {_burst(key) for key, (status, _) in found.items() if status in TOLD}
        new = [row for key, row in wanted.items() if key not in found and _burst(key) not in told]
        created = Reminder.objects.bulk_create(new, ignore_conflicts=True)
        revived = _revive(mine, wanted, found, told, now)
        cancelled = (
            mine.filter(status=Status.PENDING)
            .exclude(key__in=list(wanted))
            .update(status=Status.CANCELLED, updated_at=now)
        )
    return len(created) + revived, cancelled


def _burst(key):
    """The key without its channel: the same for a burst's email and text."""
    return key.removeprefix(f"{Channel.SMS}:")


def _revive(mine, wanted, found, told, now):
    """A guardian's row this planner cancelled (a text after STOP, an email after choosing
    texts) that is wanted again, while no channel has told of its burst: pending again. Rows
    dispatch cancelled (cancel_reason set) stay cancelled."""
    keys = [
        key
        for key, (status, reason) in found.items()
        if key in wanted and status == Status.CANCELLED and not reason
        and wanted[key].kind == Kind.MESSAGE_WAITING and _burst(key) not in told
    ]  # fmt: skip
    if not keys:
        return 0
    return mine.filter(key__in=keys, status=Status.CANCELLED, cancel_reason="").update(
        status=Status.PENDING, attempts=0, updated_at=now
    )


def replan_children(patient_ids, now=None):
    """A guardian's channel choice or number changed: the threads of these children with a
    guardian's row not sent yet are planned again, so that it follows (a STOP hands a pending
    text back to email; choosing texts turns a pending email into a text)."""
    keys = Reminder.objects.filter(
        patient_id__in=list(patient_ids), kind=Kind.MESSAGE_WAITING, status=Status.PENDING
    ).values_list("key", flat=True)
    threads = {int(match[1]) for key in keys if (match := THREAD_IN_KEY.search(key))}
    for thread_id in sorted(threads):
        plan_thread(thread_id, now)
    return len(threads)


def _wanted(thread):
    reads = dict(ReadMark.objects.filter(thread=thread).values_list("user_id", "read_at"))
    messages = list(
        Message.objects.filter(thread=thread).values_list("pk", "from_family", "author_id",
                                                          "created_at")
    )  # fmt: skip
    out = []
    for kind, recipient, user_id, zone, channels in _recipients(thread):
        read_at = reads.get(user_id)
        unread = [
            (pk, at)
            for pk, from_family, author, at in messages
            if from_family == (kind == Kind.MESSAGE_WAITING_STAFF)
            and author != user_id
            and (read_at is None or at > read_at)
        ]
        if unread:
            out += [_row(thread, kind, recipient, zone, *unread[0], c) for c in channels]
    return out


def _recipients(thread):
    """(kind, Guardian or User, user id, time zone, channels) of everyone who hears of this
    thread. A guardian's channels follow their choice for this child; staff get emails."""
    links = list(
        Guardianship.objects.filter(patient_id=thread.patient_id, guardian__user__is_active=True)
        .select_related("guardian")
        .annotate(number_status=F("guardian__text_number__status"))
    )
    prefs = {
        pref.guardian_id: pref
        for pref in Preference.objects.filter(
            patient_id=thread.patient_id, guardian_id__in=[link.guardian_id for link in links]
        )
    }
    for link in links:
        guardian = link.guardian
        can_text = link.number_status == NumberStatus.ACTIVE
        channels = channels_for(to_prefs(prefs.get(guardian.pk), can_text), Kind.MESSAGE_WAITING)
        yield Kind.MESSAGE_WAITING, guardian, guardian.user_id, guardian.time_zone, channels
    if thread.status == TS.CLOSED:
        return
    staff = Membership.objects.filter(center_id=thread.center_id, user__is_active=True)
    if thread.assigned_to_id:
        staff = staff.filter(user_id=thread.assigned_to_id)
    else:
        staff = staff.filter(role=Membership.Role.COORDINATOR)
    for membership in staff.select_related("user"):
        user = membership.user
        yield Kind.MESSAGE_WAITING_STAFF, user, user.pk, user.time_zone, ("email",)


def _row(thread, kind, recipient, zone, first_unread, at, channel):
    guardian = recipient if kind == Kind.MESSAGE_WAITING else None
    tag = f"g{recipient.pk}" if guardian else f"u{recipient.pk}"
    key = f"{tag}:{kind}:thread{thread.pk}.m{first_unread}:{at.date().isoformat()}"
    return Reminder(
        key=channel_key(key, channel),
        kind=kind,
        channel=channel,
        guardian=guardian,
        user=None if guardian else recipient,
        center_id=thread.center_id,
        patient_id=thread.patient_id,
        due_on=at.date(),
        send_at=at + DEBOUNCE,
        time_zone=zone,
    )


def still_linked(row):
    """At send time (emails and texts): a guardian whose link to the child ended hears of
    nothing."""
    if row.kind != Kind.MESSAGE_WAITING:
        return True
    return Guardianship.objects.filter(
        guardian_id=row.guardian_id, patient_id=row.patient_id
    ).exists()
