"""Every email template, in every language and mode: present what must be, never health data."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from conversations import services as conversations
from journey.models import Diagnosis, Therapy
from notifications import emails
from notifications.models import GUARDIAN_KINDS, Channel, Kind, Reminder
from notifications.sms import texts
from tests import factories as f
from tests.factories_notifications import Family, critical_result
from tracker.models import LabTest

GUARDIAN = list(GUARDIAN_KINDS)  # every kind a guardian may get, "a message is waiting" too
STAFF = [Kind.CRITICAL_RESULT, Kind.OVERDUE_COORDINATOR, Kind.DAILY_DIGEST]
STAFF += [Kind.AUTHORIZATION_EXPIRING, Kind.MESSAGE_WAITING_STAFF, Kind.URGENT_REPORT]
STAFF += [Kind.AGE_CHANGE_COORDINATOR]
# Guardian emails that name the child by first name (unless minimal); the others never do.
NAME_THE_CHILD = [Kind.LAB_REMINDER, Kind.OVERDUE_NUDGE, Kind.OVERDUE_OTHER_GUARDIAN]
NAME_THE_CHILD += [Kind.STEP_DUE, Kind.CENTER_CHANGED]
# The exchange in the child's message thread: none of it may leave the portal.
QUESTION = "Is this ALT bad? Mia's skin looks yellowish since Tuesday."
ANSWER = "An ALT of 999 after Zolgensma is expected; we raise the prednisolone dose."
DUE = dt.date(2025, 3, 10)


def _row(family, kind, lab, step, result):
    guardian = family.mother if kind in GUARDIAN else None
    user = None if guardian else family.coordinator
    return Reminder(
        key=f"{kind}:test",
        kind=kind,
        guardian=guardian,
        user=user,
        center=family.center,
        patient=None if kind == Kind.DAILY_DIGEST else family.patient,
        journey=family.journey,
        scheduled_lab=lab if "overdue" in kind or kind == Kind.LAB_REMINDER else None,
        step=step if kind == Kind.STEP_DUE else None,
        result=result if kind == Kind.CRITICAL_RESULT else None,
        due_on=DUE,
        rung=1,
        send_at=timezone.now(),
        time_zone="America/New_York",
    )


def forbidden(family, result):
    """Words that would leak health information: diagnosis, therapy, lab names, values, the
    message thread's words."""
    words = {family.patient.last_name, "SMN1", "exon", "AAV", "Liver", "ALT", "AST", "999"}
    words |= {"yellowish", "Tuesday", "prednisolone", "dose", "skin", str(result.value)}
    words |= set(Therapy.objects.values_list("name", flat=True))
    words |= set(Therapy.objects.values_list("generic_name", flat=True))
    words |= {n for pair in LabTest.objects.values_list("name", "code") for n in pair}
    words |= {d.condition.name for d in Diagnosis.objects.filter(patient=family.patient)}
    return {w for w in words if len(w) >= 3}


@pytest.fixture
def world(db):
    family = Family()
    # A name without digits: "Center 999" from the factory's sequence matched the forbidden
    # value 999 once the suite had made that many centers.
    type(family.center).objects.filter(pk=family.center.pk).update(name="Riverside Hospital")
    family.center.refresh_from_db()
    f.DiagnosisFactory(patient=family.patient)
    lab = family.lab(DUE)
    step = family.step(DUE)
    result = critical_result(family.journey, timezone.now())
    family.mother.user = f.UserFactory(email=family.mother.email)
    family.mother.save()
    thread = conversations.start_thread(family.mother, family.patient, "ALT", QUESTION)
    conversations.post_message(thread, family.coordinator, ANSWER)
    return family, lab, step, result


def _texts(message):
    html = message.alternatives[0][0] if message.alternatives else ""
    return [message.subject, message.body, html]


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("minimal", [False, True])
@pytest.mark.parametrize("kind", GUARDIAN + STAFF)
def test_every_template_renders_the_minimum(world, kind, minimal, language):
    family, lab, step, result = world
    family.mother.language = family.coordinator.language = language
    row = _row(family, kind, lab, step, result)
    message = emails.build(row, minimal=minimal, digest={"overdue": 2, "due_soon": 1})
    for text in _texts(message):
        assert text.strip()
        assert "{{" not in text and "{%" not in text
        for word in forbidden(family, result):
            assert not re.search(rf"\b{re.escape(word)}\b", text, re.I), (kind, word, text)
        if minimal:
            assert family.patient.first_name not in text
            assert "2025" not in text and "March" not in text
    assert "http://127.0.0.1:8000/" in message.body
    assert message.extra_headers["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    if kind in NAME_THE_CHILD and not minimal:
        assert family.patient.first_name in message.subject + message.body


def test_default_guardian_email_names_the_child_the_kind_of_step_and_the_date(world):
    family, lab, step, result = world
    message = emails.build(_row(family, Kind.LAB_REMINDER, lab, step, result))
    assert "Mia has a lab draw coming up on March 10, 2025" in message.body
    assert message.to == [family.mother.email]


NAMES = ["Mia", 'O\'Brien <b> & "Co"', "José", "\x1fwhen\x1f"]


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", GUARDIAN + STAFF)
def test_rendering_from_the_memo_equals_rendering_the_templates(world, kind, language):
    """GIVEN every kind, language, mode and awkward names (HTML characters, accents, a marker)
    WHEN rendered from the memoised skeleton THEN the text equals a full template render."""
    from django.utils import translation

    family, lab, step, result = world
    family.mother.language = family.coordinator.language = language
    for name, minimal in [(n, False) for n in NAMES] + [(NAMES[1], True)]:
        family.patient.first_name = name
        family.center.name = f"{name} Center"
        row = _row(family, kind, lab, step, result)
        with translation.override(language):
            context = emails._context(row, minimal, {"overdue": 2})
            assert emails.render(kind, context) == emails._render_templates(kind, context)


def test_one_recipients_values_never_reach_anothers_email(world):
    """GIVEN an email built for Zebulon WHEN one of the same shape is built for Mia
    THEN nothing of Zebulon's is in Mia's (the memo holds markers, not values)."""
    family, lab, step, result = world
    family.patient.first_name = "Zebulon"
    emails.build(_row(family, Kind.LAB_REMINDER, lab, step, result))
    family.patient.first_name = "Mia"
    message = emails.build(_row(family, Kind.LAB_REMINDER, lab, step, result))
    for text in _texts(message):
        assert "Zebulon" not in text and "\x1f" not in text
    assert "Mia" in message.subject


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", GUARDIAN)
def test_every_text_body_names_no_health_information(world, kind, language):
    """GIVEN a child with a diagnosis, a critical result and a message thread about it
    WHEN any guardian kind is written as a text THEN it names none of them, nor the child,
    and fits one segment (a text shows on a locked screen)."""
    family, lab, step, result = world
    family.mother.language = language
    row = _row(family, kind, lab, step, result)
    row.channel = Channel.SMS
    text = texts.body(row, timezone.now())
    for word in forbidden(family, result) | {family.patient.first_name, family.center.name}:
        assert not re.search(rf"\b{re.escape(word)}\b", text, re.I), (kind, word, text)
    assert "http://127.0.0.1:8000/portal/" in text and len(text) <= 160


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_code_and_keyword_replies_name_no_health_information(world, language):
    family, lab, step, result = world
    bodies = [texts.code_text("123456", language)]
    bodies += [texts.reply(keyword, language) for keyword in ("stop", "start", "help")]
    for text in bodies:
        for word in forbidden(family, result) | {family.patient.first_name}:
            assert not re.search(rf"\b{re.escape(word)}\b", text, re.I), (word, text)
        assert "Waypoint" in text and len(text) <= 160


def test_message_waiting_emails_carry_only_the_link(world):
    """The thread's subject and words stay behind the login; the family gets the list's link."""
    family, lab, step, result = world
    message = emails.build(_row(family, Kind.MESSAGE_WAITING, lab, step, result))
    for text in _texts(message):
        assert QUESTION not in text and ANSWER not in text
    assert f"/portal/children/{family.patient.public_id}/messages/" in message.body
