"""Fixtures for the text-message tests: the fake Twilio API, a capturing backend, a family
whose mother has a confirmed number, and text outbox rows."""

import datetime as dt

import pytest
from django.utils import timezone

from notifications import models as nm
from notifications.sms.models import NumberStatus, TextNumber
from tests import factories_notifications as fn
from tests.fake_twilio import FROM, SID, TOKEN, FakeTwilio

MOBILE = "+16175550100"


@pytest.fixture
def twilio(settings):
    """The fake Twilio API on a free port; the real SDK (TwilioBackend) points at it."""
    fake = FakeTwilio(fn.free_port()).start()
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = SID, TOKEN
    settings.TWILIO_FROM, settings.TWILIO_API_BASE = FROM, fake.base
    settings.SMS_TIMEOUT_SECONDS = 2
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 60
    yield fake
    fake.stop()


class OutboxBackend:
    """Keeps every text in `sent` (the confirmation-code tests read the code from it)."""

    sent = []

    def send(self, to, body, idempotency_key):
        self.sent.append({"to": to, "body": body, "key": idempotency_key})
        return f"local-{len(self.sent)}"

    def probe(self):
        return None


@pytest.fixture
def outbox(settings):
    settings.SMS_BACKEND = "tests.factories_sms.OutboxBackend"
    OutboxBackend.sent = []
    return OutboxBackend.sent


def confirmed(guardian, number=MOBILE, status=NumberStatus.ACTIVE):
    return TextNumber.objects.create(
        guardian=guardian, number=number, status=status, confirmed_at=timezone.now()
    )


def texting_family(**channels):
    """A Family (factories_notifications) whose mother confirmed MOBILE and chose `channels`
    (lab_channel="sms", ...)."""
    family = fn.Family(father_tz=None)
    confirmed(family.mother)
    nm.Preference.objects.create(guardian=family.mother, patient=family.patient, **channels)
    return family


def text_row(family, kind=nm.Kind.STAGE_CHANGED, at=None, subject="s1", **fields):
    """One text outbox row for the mother, due at `at` (default: a minute ago)."""
    at = at or timezone.now() - dt.timedelta(minutes=1)
    day = fields.pop("due_on", at.date())
    return nm.Reminder.objects.create(
        key=f"sms:g{family.mother.pk}:{kind}:{subject}:{day.isoformat()}",
        kind=kind,
        channel=nm.Channel.SMS,
        guardian=family.mother,
        center=family.center,
        patient=family.patient,
        journey=family.journey,
        due_on=day,
        send_at=at,
        time_zone=family.mother.time_zone,
        **fields,
    )
