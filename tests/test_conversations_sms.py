"""Secure messages meet text messages (issue 16): "a message is waiting" by the channel the
guardian chose for "messages waiting".

GIVEN Mia's guardians A and A2 at center A; A may have a number (confirmed, stopped or none)
      and a messages_channel choice (email, sms, both)
WHEN  the care team writes in a thread, time passes, A reads it, or A's link ends
THEN  A gets a text instead of (or besides) the email only with a confirmed, not-stopped
      number; reading cancels the text as it cancels the email; the text says only that a
      message waits and where to log in, never what it says; A2 keeps getting the email; a
      STOP, START or new choice before the send moves the pending row to the right channel,
      never adding a second notice for a burst already told of.
"""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core import mail

from conversations import services
from journey.models import Guardianship
from journey.models.people import Language
from notifications import dispatch
from notifications import services as notification_services
from notifications.models import Channel, Kind, Preference, Reminder, Status
from notifications.sms import dispatch as sms_dispatch
from notifications.sms import numbers, texts
from notifications.sms.models import NumberStatus
from tests.factories_conversations import NOW, SECRET, mia_family
from tests.factories_sms import MOBILE, OutboxBackend, confirmed

pytestmark = pytest.mark.django_db
LINK = f"{settings.SITE_URL}/portal/"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def mia(center_a):
    return mia_family(center_a)


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def sent(settings):
    """The texts the provider took (tests.factories_sms.OutboxBackend)."""
    settings.SMS_BACKEND = "tests.factories_sms.OutboxBackend"
    OutboxBackend.sent = []
    return OutboxBackend.sent


def choose(guardian, child, channel, number=NumberStatus.ACTIVE):
    """A's "messages waiting" choice, and A's number in `number` status (None: no number)."""
    Preference.objects.create(guardian=guardian, patient=child, messages_channel=channel)
    if number is not None:
        confirmed(guardian, status=number)


def team_writes(mia, coordinator, capture, frozen, body=SECRET):
    """A guardian's thread, then the care team's answer five minutes later."""
    guardian, _, child = mia
    with capture(execute=True):
        thread = services.start_thread(guardian, child, "Rash", "Is this normal?")
    frozen.shift(dt.timedelta(minutes=5))
    with capture(execute=True):
        services.post_message(thread, coordinator, body)
    return thread


def rows(guardian):
    found = Reminder.objects.filter(guardian=guardian, kind=Kind.MESSAGE_WAITING)
    return {(row.channel, row.status) for row in found}


@pytest.mark.parametrize(
    ("channel", "number", "expected"),
    [
        ("sms", NumberStatus.ACTIVE, {(Channel.SMS, Status.PENDING)}),
        ("both", NumberStatus.ACTIVE, {(Channel.SMS, Status.PENDING),
                                       (Channel.EMAIL, Status.PENDING)}),
        ("sms", None, {(Channel.EMAIL, Status.PENDING)}),  # no number: never lost, by email
        ("both", NumberStatus.UNCONFIRMED, {(Channel.EMAIL, Status.PENDING)}),
        ("sms", NumberStatus.STOPPED, {(Channel.EMAIL, Status.PENDING)}),
        ("email", NumberStatus.ACTIVE, {(Channel.EMAIL, Status.PENDING)}),
    ],
)  # fmt: skip
def test_the_guardians_messages_channel_decides_text_email_or_both(
    mia, coordinator_a, frozen, capture, channel, number, expected
):
    guardian, second, child = mia
    choose(guardian, child, channel, number)
    team_writes(mia, coordinator_a, capture, frozen)
    assert rows(guardian) == expected
    assert rows(second) == {(Channel.EMAIL, Status.PENDING)}  # A2 chose nothing: email


def test_the_text_has_the_emails_key_send_time_and_is_sent_alone(
    mia, coordinator_a, frozen, capture, sent
):
    guardian, second, child = mia
    choose(guardian, child, "sms")
    team_writes(mia, coordinator_a, capture, frozen)
    text = Reminder.objects.get(guardian=guardian, kind=Kind.MESSAGE_WAITING)
    email = Reminder.objects.get(guardian=second, kind=Kind.MESSAGE_WAITING)
    assert text.key == "sms:" + email.key.replace(f"g{second.pk}:", f"g{guardian.pk}:")
    assert text.send_at == email.send_at == NOW + dt.timedelta(minutes=7)
    frozen.shift(dt.timedelta(minutes=1))
    assert sms_dispatch.dispatch_texts().sent == 0  # debounced like the email
    frozen.shift(dt.timedelta(minutes=2))
    assert sms_dispatch.dispatch_texts().sent == 1
    dispatch.dispatch_due()
    [text_sent] = sent
    assert text_sent["key"] == text.key
    assert [m.to for m in mail.outbox] == [[second.email]]  # A: the text only
    assert Reminder.objects.get(pk=text.pk).status == Status.SENT


def test_a_burst_of_replies_is_one_text(mia, coordinator_a, frozen, capture):
    guardian, _, child = mia
    choose(guardian, child, "both")
    thread = team_writes(mia, coordinator_a, capture, frozen)
    for i in range(3):
        with capture(execute=True):
            services.post_message(thread, coordinator_a, f"and {i}")
    assert Reminder.objects.filter(guardian=guardian, channel=Channel.SMS).count() == 1


def test_reading_the_thread_cancels_the_text_too(mia, coordinator_a, frozen, capture, sent):
    guardian, _, child = mia
    choose(guardian, child, "both")
    thread = team_writes(mia, coordinator_a, capture, frozen)
    with capture(execute=True):
        services.mark_read(thread, guardian.user)
    assert rows(guardian) == {(Channel.SMS, Status.CANCELLED), (Channel.EMAIL, Status.CANCELLED)}
    frozen.shift(dt.timedelta(minutes=3))
    sms_dispatch.dispatch_texts()
    assert sent == []


def test_a_guardian_whose_link_ended_before_the_send_gets_no_text(
    mia, coordinator_a, frozen, capture, sent
):
    guardian, _, child = mia
    choose(guardian, child, "sms")
    team_writes(mia, coordinator_a, capture, frozen)
    Guardianship.objects.filter(guardian=guardian, patient=child).delete()
    frozen.shift(dt.timedelta(minutes=3))
    sms_dispatch.dispatch_texts()
    assert sent == []
    text = Reminder.objects.get(guardian=guardian, channel=Channel.SMS)
    assert text.status == Status.CANCELLED


@pytest.mark.parametrize(
    ("language", "start"),
    [
        (Language.ENGLISH, f"Waypoint: your care team sent you a message. Read it: {LINK} "),
        (Language.SPANISH, f"Waypoint: su equipo de atención le envió un mensaje. Léalo: {LINK} "),
    ],
)
def test_the_text_says_a_message_waits_never_what_it_says(
    mia, coordinator_a, frozen, capture, sent, language, start
):
    guardian, _, child = mia
    guardian.language = language
    guardian.save(update_fields=["language"])
    choose(guardian, child, "sms")
    team_writes(mia, coordinator_a, capture, frozen)
    frozen.shift(dt.timedelta(minutes=3))
    sms_dispatch.dispatch_texts()
    [text_sent] = sent
    body = text_sent["body"]
    assert body.startswith(start) and "STOP" in body
    assert len(body) <= 160  # one SMS segment
    for secret in (SECRET, "Rash", "normal", "Mia", child.center.name, str(child.public_id)):
        assert secret not in body


def test_the_body_is_the_same_whatever_the_message(mia):
    row = Reminder(kind=Kind.MESSAGE_WAITING, guardian=mia[0], due_on=NOW.date(),
                   time_zone="America/New_York")  # fmt: skip
    assert texts.body(row, NOW) == (
        f"Waypoint: your care team sent you a message. Read it: {LINK} Reply STOP to stop texts."
    )


# ---- a pending "message waiting" follows a STOP, a START or a new choice ----


def test_stop_before_the_send_hands_the_pending_text_back_to_email(
    mia, coordinator_a, frozen, capture, sent
):
    guardian, second, child = mia
    choose(guardian, child, "sms")
    team_writes(mia, coordinator_a, capture, frozen)
    numbers.inbound(MOBILE, "STOP")
    assert rows(guardian) == {(Channel.SMS, Status.CANCELLED), (Channel.EMAIL, Status.PENDING)}
    numbers.inbound(MOBILE, "START")  # texts again: the same text row, pending again
    assert rows(guardian) == {(Channel.SMS, Status.PENDING), (Channel.EMAIL, Status.CANCELLED)}
    numbers.inbound(MOBILE, "STOP")
    frozen.shift(dt.timedelta(minutes=3))
    sms_dispatch.dispatch_texts()
    dispatch.dispatch_due()
    assert sent == []
    assert sorted(m.to[0] for m in mail.outbox) == sorted([guardian.email, second.email])


def test_choosing_texts_turns_a_pending_email_into_a_text(mia, coordinator_a, frozen, capture):
    guardian, _, child = mia
    confirmed(guardian)
    team_writes(mia, coordinator_a, capture, frozen)
    assert rows(guardian) == {(Channel.EMAIL, Status.PENDING)}
    notification_services.save_preferences(guardian, child, {"messages_channel": "sms"})
    assert rows(guardian) == {(Channel.SMS, Status.PENDING), (Channel.EMAIL, Status.CANCELLED)}


def test_a_burst_already_emailed_gets_no_text_after_choosing_texts(
    mia, coordinator_a, frozen, capture, sent
):
    guardian, _, child = mia
    confirmed(guardian)
    thread = team_writes(mia, coordinator_a, capture, frozen)
    frozen.shift(dt.timedelta(minutes=3))
    dispatch.dispatch_due()
    notification_services.save_preferences(guardian, child, {"messages_channel": "sms"})
    with capture(execute=True):  # the same burst: A has not read the first answer yet
        services.post_message(thread, coordinator_a, "One more thing")
    assert rows(guardian) == {(Channel.EMAIL, Status.SENT)}
    frozen.shift(dt.timedelta(minutes=3))
    sms_dispatch.dispatch_texts()
    assert sent == []
