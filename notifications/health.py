"""The outbox's health for operators: what /health/ and /metrics report (no patient data).

Four counts and two ages, each from a partial index: the oldest due reminder not yet sent
(`reminder_pending_due`), pending and failed rows, rows a dead worker still holds
(`reminder_lease`), and the relay's state (one row, breaker.py).
"""

import datetime as dt
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from .models import Relay, RelayState, Reminder
from .models import Status as S

DAY = dt.timedelta(days=1)


@dataclass
class Snapshot:
    checked_at: str
    oldest_overdue_seconds: float
    pending: int
    due: int
    failed_24h: int
    stuck: int
    relay: str
    relay_down_seconds: float
    relay_down_since: str | None
    problems: list = field(default_factory=list)

    @property
    def healthy(self):
        return not self.problems

    def as_dict(self):
        return {"status": "ok" if self.healthy else "failing", **asdict(self)}


def snapshot(now=None):
    """The gauges now, and which thresholds (settings HEALTH_*) they pass."""
    now = now or timezone.now()
    pending = Reminder.objects.filter(status=S.PENDING)
    due = pending.filter(send_at__lte=now)
    oldest = due.aggregate(oldest=Min("send_at"))["oldest"]
    relay = Relay.objects.filter(pk=1).first() or Relay()  # read only: no row yet is "up"
    down = relay.state == RelayState.DOWN
    result = Snapshot(
        checked_at=now.isoformat(),
        oldest_overdue_seconds=round((now - oldest).total_seconds(), 1) if oldest else 0.0,
        pending=pending.count(),
        due=due.count(),
        failed_24h=Reminder.objects.filter(status=S.FAILED, updated_at__gte=now - DAY).count(),
        stuck=Reminder.objects.filter(status=S.SENDING, lease_until__lt=now).count(),
        relay=relay.state,
        relay_down_seconds=round((now - relay.down_since).total_seconds(), 1) if down else 0.0,
        relay_down_since=relay.down_since.isoformat() if down else None,
    )
    result.problems = _problems(result)
    return result


def _problems(snap):
    limits = [
        ("outbox_overdue", snap.oldest_overdue_seconds, settings.HEALTH_MAX_OVERDUE_SECONDS),
        ("failed_24h", snap.failed_24h, settings.HEALTH_MAX_FAILED_24H),
        ("relay_down", snap.relay_down_seconds, settings.HEALTH_MAX_RELAY_DOWN_SECONDS),
    ]
    return [name for name, value, limit in limits if value > limit]


def relay_down_too_long(now=None):
    """The relay row when it has been down past RELAY_ALERT_AFTER_SECONDS (the banner)."""
    limit = dt.timedelta(seconds=settings.NOTIFICATIONS_RELAY_ALERT_SECONDS)
    return Relay.objects.filter(
        pk=1, state=RelayState.DOWN, down_since__lt=(now or timezone.now()) - limit
    ).order_by("pk")
