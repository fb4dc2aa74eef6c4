"""Builders for the family-report tests: Mia (guardian A) on monitoring after Zolgensma, Leo
(guardian B) at the same center, and Celery's "look now" run inline. Each test module wraps
them in its own fixtures."""

import datetime as dt

from journey.models import Stage, Therapy
from notifications import tasks
from tests import factories as f
from tests.factories_portal import family

NOW = dt.datetime(2025, 12, 1, 8, 0, tzinfo=dt.UTC)  # 03:00 in New York: the middle of the night


def mia_family(center_a):
    guardian, child = family(center_a, first_name="Mia", time_zone="America/New_York")
    therapy = Therapy.objects.get(slug="zolgensma")
    journey = f.JourneyFactory(
        patient=child, center=center_a, stage=Stage.MONITORING, therapy=therapy
    )
    return guardian, child, journey


def leo_family(center_a):
    return family(center_a, first_name="Leo", email="ben@example.org")


def run_tasks_inline(monkeypatch):
    """plan_reminders runs at once; dispatch_alerts requests are counted (sent by the test)."""
    alerts = []
    monkeypatch.setattr(tasks.plan_reminders, "delay", lambda **ids: tasks.plan_reminders(**ids))
    monkeypatch.setattr(tasks.dispatch_alerts, "delay", lambda: alerts.append(1))
    return alerts
