"""Pure planning: from scheduled items, preferences and time zones to the reminders we want.

No database here. services.reconcile() loads the inputs, calls plan_patient() / plan_digests()
and makes the outbox match the result in bulk.
"""

import datetime as dt
from dataclasses import dataclass, field, replace

from tracker.draws import group_draws

from .clock import local_today, send_at
from .models import Kind

DEFAULT_HOUR = 9
COORDINATOR_HOUR = 9
DIGEST_HOUR = 7
DEFAULT_NUDGES = 2
# A reminder whose day has passed stays wanted for this long, so that a row still retrying
# after midnight is not cancelled under the dispatcher's feet.
GRACE = dt.timedelta(days=1)
RECENT = dt.timedelta(days=2)  # stage notes and critical alerts older than this are history
# A stage email waits this long after the move: a coordinator entering several moves in a row
# (back-filling the history) gives one email, about the last one.
SETTLE = dt.timedelta(minutes=15)
# A move first planned later than this after its recorded time was entered as history (or
# found long after an outage): no email. A note planned in time stays wanted for RECENT.
FRESH = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Prefs:
    lab_reminders: bool = True
    overdue_nudges: bool = True
    stage_notes: bool = True
    step_reminders: bool = True
    lead_days: int = 1
    local_hour: int = DEFAULT_HOUR
    quiet: tuple | None = None
    snoozed_until: dt.datetime | None = None
    lab_channel: str = "email"  # email, sms or both (models.ChannelChoice)
    messages_channel: str = "email"
    stage_channel: str = "email"
    can_text: bool = False  # a confirmed number that has not answered STOP nor been refused


# Which of a guardian's channel choices each kind follows ("messages waiting": what waits for
# the family: a family step coming due, and a secure message from the care team, whose rows
# notifications.messages plans per thread with channels_for and channel_key).
CHANNEL_GROUPS = {
    Kind.LAB_REMINDER: "lab_channel",
    Kind.OVERDUE_NUDGE: "lab_channel",
    Kind.OVERDUE_OTHER_GUARDIAN: "lab_channel",
    Kind.STEP_DUE: "messages_channel",
    Kind.MESSAGE_WAITING: "messages_channel",
    Kind.STAGE_CHANGED: "stage_channel",
}


def channels_for(prefs, kind):
    """("email",), ("sms",) or both for one kind. Without a number to text: email, so that
    choosing texts never loses a reminder."""
    choice = getattr(prefs, CHANNEL_GROUPS[kind])
    if choice == "email" or not prefs.can_text:
        return ("email",)
    return ("sms",) if choice == "sms" else ("email", "sms")


def channel_key(key, channel):
    """The idempotency key of the row for `channel`: the email key as it always was, the same
    with "sms:" before it for a text."""
    return key if channel == "email" else f"{channel}:{key}"


@dataclass(frozen=True)
class Recipient:
    """A guardian ("g") or coordinator ("u") as planning sees them."""

    role: str
    id: int
    time_zone: str
    prefs: Prefs = Prefs()
    primary: bool = False

    @property
    def tag(self):
        return f"{self.role}{self.id}"


@dataclass(frozen=True)
class Lab:
    """One open scheduled row (one test); rows of a journey due the same day are one draw."""

    id: int
    due_on: dt.date
    window_end: dt.date
    inpatient: bool = False
    journey_id: int | None = None  # the draw's journey (tracker.draws.draw_key)


@dataclass(frozen=True)
class Step:
    id: int
    due_on: dt.date


@dataclass(frozen=True)
class StageNote:
    change_id: int
    moved_at: dt.datetime


@dataclass(frozen=True)
class Critical:
    result_id: int
    entered_at: dt.datetime


@dataclass(frozen=True)
class UrgentReport:
    report_id: int
    created_at: dt.datetime


@dataclass
class PatientInputs:
    """Everything planning needs about one child with an open journey."""

    patient_id: int
    center_id: int
    journey_id: int
    guardians: list = field(default_factory=list)
    coordinators: list = field(default_factory=list)
    labs: list = field(default_factory=list)  # open labs only
    steps: list = field(default_factory=list)  # open family steps of the current stage
    stage_notes: list = field(default_factory=list)
    criticals: list = field(default_factory=list)
    urgent_reports: list = field(default_factory=list)  # open ones (reports app)


@dataclass(frozen=True)
class DrawDue:
    """What a family thinks of as one blood test: the open rows of one journey and day.

    `lab_id` is the row the email points at: the one whose window closes last (the draw is
    overdue only then), the lowest id among equals, so it stays put from sweep to sweep.
    """

    lab_id: int
    journey_id: int
    due_on: dt.date
    window_end: dt.date

    @property
    def subject(self):
        return f"draw{self.journey_id}.{self.due_on:%Y%m%d}"


def draws(inputs):
    """The child's open outpatient rows grouped into draws (tracker.draws), in due order."""
    out = []
    for draw in group_draws(lab for lab in inputs.labs if not lab.inpatient):
        lab = max(draw.rows, key=lambda row: (row.window_end, -row.id))
        out.append(DrawDue(lab.id, inputs.journey_id, draw.due_on, lab.window_end))
    return sorted(out, key=lambda d: (d.due_on, d.lab_id))


@dataclass(frozen=True)
class Desired:
    key: str
    kind: str
    recipient: Recipient
    center_id: int
    due_on: dt.date
    send_at: dt.datetime
    patient_id: int | None = None
    journey_id: int | None = None
    scheduled_lab_id: int | None = None
    step_id: int | None = None
    result_id: int | None = None
    rung: int = 0
    # False: keep (and re-time) the outbox row if one exists, but do not create it now.
    create: bool = True
    channel: str = "email"


def make_key(recipient, kind, subject, day):
    """The idempotency key: recipient + kind + subject + due date (never the hour: DST folds)."""
    return f"{recipient.tag}:{kind}:{subject}:{day.isoformat()}"


def plan_patient(inputs, now, nudges=DEFAULT_NUDGES):
    """Every reminder wanted now for one child, for all its guardians and coordinators."""
    out = []
    due = draws(inputs)
    for guardian in inputs.guardians:
        out += _lab_reminders(inputs, due, guardian, now)
        out += _step_reminders(inputs, guardian, now)
        out += _stage_notes(inputs, guardian, now)
    for draw in due:
        out += _overdue_ladder(inputs, draw, now, nudges)
    for coordinator in inputs.coordinators:
        out += _critical_alerts(inputs, coordinator, now)
        out += _urgent_report_alerts(inputs, coordinator, now)
    return by_channel(out)


def by_channel(desired):
    """Each guardian's reminder once per channel they chose for its kind (same send time:
    quiet hours, snooze and "day passed" hold for texts as for emails)."""
    out = []
    for d in desired:
        if d.recipient.role != "g":
            out.append(d)
            continue
        for channel in channels_for(d.recipient.prefs, d.kind):
            out.append(replace(d, key=channel_key(d.key, channel), channel=channel))
    return out


def plan_digests(coordinators, now):
    """One daily digest per (coordinator, center): today's and tomorrow's, at 07:00 local."""
    out = []
    for center_id, coordinator in coordinators:
        today = local_today(coordinator.time_zone, now)
        for day in (today, today + dt.timedelta(days=1)):
            at = send_at(coordinator.time_zone, day, dt.time(DIGEST_HOUR))
            if at + GRACE < now:
                continue
            key = make_key(coordinator, Kind.DAILY_DIGEST, f"center{center_id}", day)
            out.append(Desired(key, Kind.DAILY_DIGEST, coordinator, center_id, day, at))
    return out


def _guardian_send_at(guardian, day, now):
    """Guardian-local hour on `day`, never before the end of a snooze, outside quiet hours."""
    prefs = guardian.prefs
    earliest = prefs.snoozed_until
    at = send_at(
        guardian.time_zone, day, dt.time(prefs.local_hour), earliest=earliest, quiet=prefs.quiet
    )
    return at


def _wanted(at, day, guardian, now):
    """Still worth sending: its day has not passed (with grace) in the guardian's zone."""
    return day + GRACE >= local_today(guardian.time_zone, now)


def _base(inputs, recipient, kind, subject, day, at, **ids):
    return Desired(
        key=make_key(recipient, kind, subject, day),
        kind=kind,
        recipient=recipient,
        center_id=inputs.center_id,
        due_on=day,
        send_at=at,
        patient_id=inputs.patient_id,
        journey_id=inputs.journey_id,
        **ids,
    )


def _lab_reminders(inputs, due, guardian, now):
    """One reminder per draw, never one per test."""
    if not guardian.prefs.lab_reminders:
        return []
    out = []
    for draw in due:
        if not _wanted(None, draw.due_on, guardian, now):
            continue
        day = draw.due_on - dt.timedelta(days=guardian.prefs.lead_days)
        at = _guardian_send_at(guardian, day, now)
        out.append(
            _base(inputs, guardian, Kind.LAB_REMINDER, draw.subject, draw.due_on, at,
                  scheduled_lab_id=draw.lab_id)
        )  # fmt: skip
    return out


def _step_reminders(inputs, guardian, now):
    if not guardian.prefs.step_reminders:
        return []
    out = []
    for step in inputs.steps:
        if not _wanted(None, step.due_on, guardian, now):
            continue
        day = step.due_on - dt.timedelta(days=guardian.prefs.lead_days)
        at = _guardian_send_at(guardian, day, now)
        out.append(
            _base(inputs, guardian, Kind.STEP_DUE, f"step{step.id}", step.due_on, at,
                  step_id=step.id)
        )  # fmt: skip
    return out


def _stage_notes(inputs, guardian, now):
    """One email about the journey's latest move, SETTLE after it; none for history.

    An earlier move of the same burst is no longer wanted, so its pending row is cancelled
    when the next move is planned. A move planned more than FRESH after its recorded time was
    entered as past history: its row is kept if it exists, never created.
    """
    if not guardian.prefs.stage_notes or not inputs.stage_notes:
        return []
    note = max(inputs.stage_notes, key=lambda n: (n.moved_at, n.change_id))
    if note.moved_at + RECENT < now:
        return []
    prefs = guardian.prefs
    settled = note.moved_at + SETTLE
    earliest = max(settled, prefs.snoozed_until or settled)
    at = send_at(guardian.time_zone, earliest=earliest, quiet=prefs.quiet)
    day = local_today(guardian.time_zone, note.moved_at)
    subject = f"stage{note.change_id}"
    desired = _base(inputs, guardian, Kind.STAGE_CHANGED, subject, day, at)
    if note.moved_at + FRESH < now:
        desired = replace(desired, create=False)
    return [desired]


def _overdue_ladder(inputs, draw, now, nudges):
    """For an overdue draw: nudge the primary guardian `nudges` times a day apart, then the
    other guardians, then staff."""
    if not inputs.guardians:
        return []
    primary = _primary(inputs.guardians)
    out = []
    for rung in range(1, nudges + 1):
        out += _ladder_rung(inputs, draw, [primary], Kind.OVERDUE_NUDGE, rung, now)
    others = [g for g in inputs.guardians if g != primary]
    out += _ladder_rung(inputs, draw, others, Kind.OVERDUE_OTHER_GUARDIAN, nudges + 1, now)
    staff = inputs.coordinators
    out += _ladder_rung(inputs, draw, staff, Kind.OVERDUE_COORDINATOR, nudges + 2, now)
    return out


def _ladder_rung(inputs, draw, recipients, kind, rung, now):
    day = draw.window_end + dt.timedelta(days=rung)
    out = []
    for recipient in recipients:
        if recipient.role == "g" and not recipient.prefs.overdue_nudges:
            continue
        if day + GRACE < local_today(recipient.time_zone, now):
            continue
        if recipient.role == "g":
            at = _guardian_send_at(recipient, day, now)
        else:
            at = send_at(recipient.time_zone, day, dt.time(COORDINATOR_HOUR))
        out.append(
            _base(inputs, recipient, kind, draw.subject, day, at,
                  scheduled_lab_id=draw.lab_id, rung=rung)
        )  # fmt: skip
    return out


def _critical_alerts(inputs, coordinator, now):
    """At once, any hour: no quiet hours, no snooze."""
    out = []
    for critical in inputs.criticals:
        if critical.entered_at + RECENT < now:
            continue
        day = local_today(coordinator.time_zone, critical.entered_at)
        subject = f"result{critical.result_id}"
        out.append(
            _base(inputs, coordinator, Kind.CRITICAL_RESULT, subject, day, critical.entered_at,
                  result_id=critical.result_id)
        )  # fmt: skip
    return out


def _urgent_report_alerts(inputs, coordinator, now):
    """A family ticked a "call now" sign: as a critical result, at once, any hour."""
    out = []
    for report in inputs.urgent_reports:
        if report.created_at + RECENT < now:
            continue
        day = local_today(coordinator.time_zone, report.created_at)
        subject = f"report{report.report_id}"
        out.append(_base(inputs, coordinator, Kind.URGENT_REPORT, subject, day, report.created_at))
    return out


_DEFAULT_PREFS = Prefs()


def to_prefs(pref, can_text=False):
    """A Preference row (or None: defaults) as planning's immutable Prefs; `can_text`: the
    guardian's number is confirmed and usable."""
    if pref is None:
        return replace(_DEFAULT_PREFS, can_text=can_text) if can_text else _DEFAULT_PREFS
    quiet = (pref.quiet_start, pref.quiet_end) if pref.quiet_start is not None else None
    return Prefs(
        lab_reminders=pref.lab_reminders,
        overdue_nudges=pref.overdue_nudges,
        stage_notes=pref.stage_notes,
        step_reminders=pref.step_reminders,
        lead_days=pref.lead_days,
        local_hour=pref.local_hour,
        quiet=quiet,
        snoozed_until=pref.snoozed_until,
        lab_channel=pref.lab_channel,
        messages_channel=pref.messages_channel,
        stage_channel=pref.stage_channel,
        can_text=can_text,
    )


def _primary(guardians):
    flagged = [g for g in guardians if g.primary]
    return flagged[0] if flagged else min(guardians, key=lambda g: g.id)
