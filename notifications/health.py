"""The outbox's health for operators: what /health/ and /metrics report (no patient data).

Four counts and two ages, each from a partial index: the oldest due reminder not yet sent
(`reminder_pending_due`), pending and failed rows, rows a dead worker still holds
(`reminder_lease`), and each relay's state (one row each, breaker.py): the mail relay
(`relay_*`) and the text-message provider (`sms_relay_*`).
"""

import datetime as dt
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from .models import MAIL_RELAY, SMS_RELAY, Relay, RelayState, Reminder
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
    sms_relay: str = RelayState.UP
    sms_relay_down_seconds: float = 0.0
    sms_relay_down_since: str | None = None
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
    relays = {row.pk: row for row in Relay.objects.filter(pk__in=[MAIL_RELAY, SMS_RELAY])}
    mail_state, mail_down, mail_since = _relay(relays, MAIL_RELAY, now)
    sms_state, sms_down, sms_since = _relay(relays, SMS_RELAY, now)
    result = Snapshot(
        checked_at=now.isoformat(),
        oldest_overdue_seconds=round((now - oldest).total_seconds(), 1) if oldest else 0.0,
        pending=pending.count(),
        due=due.count(),
        failed_24h=Reminder.objects.filter(status=S.FAILED, updated_at__gte=now - DAY).count(),
        stuck=Reminder.objects.filter(status=S.SENDING, lease_until__lt=now).count(),
        relay=mail_state,
        relay_down_seconds=mail_down,
        relay_down_since=mail_since,
        sms_relay=sms_state,
        sms_relay_down_seconds=sms_down,
        sms_relay_down_since=sms_since,
    )
    result.problems = _problems(result)
    return result


def _relay(rows, relay_id, now):
    """A relay's state, seconds down and since when (read only: no row yet is "up")."""
    row = rows.get(relay_id) or Relay(pk=relay_id)
    if row.state != RelayState.DOWN:
        return row.state, 0.0, None
    seconds = round((now - row.down_since).total_seconds(), 1)
    return row.state, seconds, row.down_since.isoformat()


def _problems(snap):
    limits = [
        ("outbox_overdue", snap.oldest_overdue_seconds, settings.HEALTH_MAX_OVERDUE_SECONDS),
        ("failed_24h", snap.failed_24h, settings.HEALTH_MAX_FAILED_24H),
        ("relay_down", snap.relay_down_seconds, settings.HEALTH_MAX_RELAY_DOWN_SECONDS),
        ("sms_relay_down", snap.sms_relay_down_seconds, settings.HEALTH_MAX_RELAY_DOWN_SECONDS),
    ]
    return [name for name, value, limit in limits if value > limit]


def relay_alert_cutoff(now):
    """Down since before this, the relay gets the banner (RELAY_ALERT_AFTER_SECONDS)."""
    return now - dt.timedelta(seconds=settings.NOTIFICATIONS_RELAY_ALERT_SECONDS)


def relay_down_too_long(cutoff):
    """The relay row when it has been down since before `cutoff` (relay_alert_cutoff: the
    worklist's banner)."""
    return Relay.objects.filter(pk=1, state=RelayState.DOWN, down_since__lt=cutoff).order_by("pk")
