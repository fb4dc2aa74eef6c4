"""wire.wire() writes what Django's SMTP backend would send for a reminder email, parsed alike."""

import datetime as dt
from email import message_from_bytes, policy

import pytest
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from notifications import emails, wire
from notifications.models import Kind, Reminder
from tests.factories_notifications import Family

LONG = "A very long subject that the email package folds over several lines, " * 3


def _django(message):
    return wire._django_wire(message)


def _parsed(data):
    return message_from_bytes(data, policy=policy.default)


def _same(message):
    """wire() and Django's serialisation give the same envelope, headers and parts."""
    ours, theirs = wire.wire(message), _django(message)
    assert ours[:2] == theirs[:2]
    assert all(len(line) <= 998 for line in ours[2].split(b"\r\n"))
    assert b"\n" not in ours[2].replace(b"\r\n", b"")
    a, b = _parsed(ours[2]), _parsed(theirs[2])
    names = [n for n in b if n not in ("Date", "Content-Type")]
    assert a.keys() == b.keys()
    # Folding whitespace aside (Django's encoded Subject starts on a continuation line).
    assert {n: " ".join(str(a[n]).split()) for n in names} == {
        n: " ".join(str(b[n]).split()) for n in names
    }
    assert a.get_content_type() == b.get_content_type() == "multipart/alternative"
    for x, y in zip(a.iter_parts(), b.iter_parts(), strict=True):
        assert (x.get_content_type(), x.get_content_charset(), x["Content-Transfer-Encoding"]) == (
            y.get_content_type(),
            y.get_content_charset(),
            y["Content-Transfer-Encoding"],
        )
        assert x.get_content() == y.get_content()
    return ours


def _message(subject="Reminder: a lab draw for Mia", body="Hello,\n\nMia.\n", to="a@example.org",
             html="<p>Mia</p>\n", sender="Waypoint <no-reply@waypoint.local>"):  # fmt: skip
    message = EmailMultiAlternatives(
        subject, body, sender, [to],
        headers={"Message-ID": "<reminder.1@waypoint.local>", "Auto-Submitted": "auto-generated",
                 "List-Unsubscribe": f"<http://127.0.0.1:8000/portal/preferences/{'x' * 120}/>"},
    )  # fmt: skip
    message.attach_alternative(html, "text/html")
    return message


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"subject": "Recordatorio: una extracción de sangre para José"},
        {"subject": LONG},
        {"subject": "Ünïcödé " * 20},
        {"body": "Hola,\n\nJosé tiene algo.\r\nOtra línea\rsin fin", "html": "<p>José</p>"},
        {"to": "O'Brien.x+tag@example.org"},
        {"to": '"Smith, Ann" <ann@example.org>'},
        {"to": "ann@exämple.org"},
        {"sender": "no-reply@waypoint.local"},
        {"sender": "Wäypoint <no-reply@waypoint.local>"},
    ],
)
def test_wire_equals_djangos_serialisation(fields, settings):
    _same(_message(**fields))


def test_a_line_too_long_for_8bit_goes_through_django(monkeypatch):
    calls, django_wire = [], wire._django_wire
    monkeypatch.setattr(wire, "_django_wire", lambda m: calls.append(m) or django_wire(m))
    _same(_message(body="x" * 1200))
    assert calls


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("minimal", [False, True])
@pytest.mark.parametrize("kind", [Kind.LAB_REMINDER, Kind.OVERDUE_NUDGE, Kind.STAGE_CHANGED])
def test_every_reminder_email_goes_out_as_django_would_send_it(db, kind, minimal, language):
    family = Family()
    family.mother.language = language
    family.patient.first_name = "José"
    lab = family.lab(dt.date(2025, 3, 10))
    row = Reminder(
        key=f"{kind}:wire", kind=kind, guardian=family.mother, center=family.center,
        patient=family.patient, journey=family.journey, scheduled_lab=lab, due_on=lab.due_on,
        rung=1, send_at=timezone.now(), time_zone="America/New_York",
    )  # fmt: skip
    data = _same(emails.build(row, minimal=minimal))[2]
    assert emails.message_id(row.key).encode() in data
