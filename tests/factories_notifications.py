"""Factories and fixtures for the reminder tests: tracker rows, a demo family, an SMTP sink."""

import asyncio
import datetime as dt
import socket
import threading
from decimal import Decimal
from email import message_from_bytes

import factory
import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from journey import models as jm
from notifications import models as nm
from tests import factories as f
from tracker import models as tm


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = tm.MonitoringPlan

    journey = factory.SubFactory(f.JourneyFactory, stage=jm.Stage.MONITORING)
    therapy = factory.SubFactory(f.TherapyFactory)
    label_as_of = factory.SelfAttribute("therapy.label_as_of")


class VersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = tm.PlanVersion

    plan = factory.SubFactory(PlanFactory)
    number = factory.Sequence(lambda n: n + 1)
    infusion_date = dt.date(2025, 1, 1)
    created_at = factory.LazyFunction(timezone.now)
    reason = "test"


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = tm.PlanItem

    plan = factory.SubFactory(PlanFactory)
    code = factory.Sequence(lambda n: f"item-{n}")
    kind = tm.ItemKind.LAB
    title = "Liver panel (ALT, AST)"


class LabFactory(factory.django.DjangoModelFactory):
    """A scheduled draw due on `due_on`, window +/- 2 days."""

    class Meta:
        model = tm.ScheduledLab

    item = factory.SubFactory(ItemFactory)
    journey = factory.SelfAttribute("item.plan.journey")
    center = factory.LazyAttribute(lambda o: o.journey.center)
    sequence = factory.Sequence(lambda n: n + 1)
    due_on = dt.date(2025, 3, 10)
    window_start = factory.LazyAttribute(lambda o: o.due_on - dt.timedelta(days=2))
    window_end = factory.LazyAttribute(lambda o: o.due_on + dt.timedelta(days=2))
    version = factory.LazyAttribute(lambda o: VersionFactory(plan=o.item.plan))


def critical_result(journey, at):
    test = tm.LabTest.objects.order_by("pk").first()
    return tm.LabResult.objects.create(
        journey=journey,
        center_id=journey.center_id,
        test=test,
        value_entered="999",
        unit_entered=test.unit,
        value=Decimal("999"),
        unit=test.unit,
        collected_at=at,
        entered_at=at,
        flag=tm.Flag.CRITICAL_HIGH,
    )


class Family:
    """A child with an open monitoring journey, two guardians and a coordinator."""

    def __init__(self, center=None, mother_tz="America/New_York", father_tz="Europe/London"):
        self.center = center or f.CenterFactory()
        self.coordinator = f.CoordinatorFactory(center=self.center, time_zone="America/Chicago")
        self.patient = f.PatientFactory(center=self.center, first_name="Mia")
        self.journey = f.JourneyFactory(
            patient=self.patient, center=self.center, stage=jm.Stage.MONITORING
        )
        self.plan = PlanFactory(journey=self.journey)
        self.mother = self._guardian("mother", mother_tz, primary=True)
        self.father = self._guardian("father", father_tz, primary=False) if father_tz else None

    def _guardian(self, name, tz, primary):
        guardian = f.GuardianFactory(
            center=self.center, time_zone=tz, email=f"{name}.{self.patient.pk}@example.org"
        )
        role = jm.Guardianship.Role.PRIMARY if primary else jm.Guardianship.Role.CO_GUARDIAN
        jm.Guardianship.objects.create(guardian=guardian, patient=self.patient, role=role)
        return guardian

    def lab(self, due_on, kind=tm.ItemKind.LAB, inpatient=False, **kwargs):
        item = ItemFactory(plan=self.plan, kind=kind, inpatient=inpatient)
        return LabFactory(item=item, due_on=due_on, **kwargs)

    def step(self, due_on, responsible=jm.Responsible.FAMILY):
        return jm.ChecklistStep.objects.create(
            journey=self.journey,
            code=f"step-{jm.ChecklistStep.objects.count()}",
            stage=self.journey.stage,
            title="Bring the consent form",
            responsible=responsible,
            due_on=due_on,
        )


def due_reminders(n, at=None, center=None):
    """n pending reminders due now for n guardians (fast: bulk)."""
    at = at or timezone.now() - dt.timedelta(minutes=1)
    family = Family(center=center, father_tz=None)
    rows = [
        nm.Reminder(
            key=f"g{family.mother.pk}:stage_changed:bulk{i}:2025-03-10",
            kind=nm.Kind.STAGE_CHANGED,
            guardian=family.mother,
            center=family.center,
            patient=family.patient,
            journey=family.journey,
            due_on=at.date(),
            send_at=at,
            time_zone=family.mother.time_zone,
        )
        for i in range(n)
    ]
    nm.Reminder.objects.bulk_create(rows)
    return family


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """aiosmtpd handler: records messages; `refuse` maps an address (or "*") to an SMTP reply."""

    def __init__(self):
        self.messages = []
        self.refuse = {}
        self.delay = 0  # seconds per message: lets a test kill a worker mid-batch
        self.rcpt_delay = 0  # seconds before answering RCPT: a slow relay
        self.hold_after = None  # accept this many messages, then hold the last one's reply
        self.held = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        reply = self.refuse.get(address) or self.refuse.get("*")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        self.messages.append(message_from_bytes(envelope.content))
        if self.hold_after == len(self.messages):  # accepted; the sender dies before the reply
            self.held.set()
            await asyncio.sleep(60)
        return "250 Message accepted for delivery"

    def ids(self):
        return [m["Message-ID"] for m in self.messages]


class SMTPServer:
    def __init__(self, port):
        self.port = port
        self.sink = Sink()
        self.controller = None

    def start(self):
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(settings):
    """A real SMTP server in this process; the mail settings point at it."""
    server = SMTPServer(free_port())
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 60
    yield server
    server.stop()
