"""One child's years, from 6 months to 19, replayed in a transaction that is rolled back
(`manage.py demo_timeline`, issue 17's note).

The walk steps to the interesting instants only: each notice and change day the center's age
policy gives (60 and 14 days before, the birthday), a coordinator inviting the young person to
their own account before the 18th-birthday notices, and each yearly contact-check date. At each
one it runs what the beat runs (notifications.custody.age_transitions, journey.followup.sweep)
with that `now`, then reads the rows they wrote for this child: AgeTransition, outbox Reminder
rows of the age kinds, PortalAccessChange, ContactConfirmation, and the guardians' roles and
restrictions. Three people's actions are played and said so: the coordinator moves a journey in
monitoring to long-term follow-up a year after the infusion, the family answers each contact
check 3 days later, the coordinator invites the young person before 18. Nothing about the
child's health is read or printed.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import Q

from journey import access, followup, services
from journey.ages import birthday
from journey.custody import ages as age_rules
from journey.custody import services as custody
from journey.models import (
    AgeTransition,
    Center,
    ContactConfirmation,
    Guardian,
    Guardianship,
    Membership,
    Patient,
    PortalAccessChange,
    Stage,
)
from notifications import custody as age_notices
from notifications.models import Kind, Reminder

FIRST_MONTHS, LAST_YEARS = 6, 19
SWEEP_HOUR = dt.time(14, 0)  # UTC: the morning in the Americas, the afternoon in Europe
INVITE_AT_YEARS = 18
ANSWER_AFTER = dt.timedelta(days=3)  # the walk's family answers each contact check
FOLLOW_UP_AFTER = dt.timedelta(days=365)  # monitoring, then long-term follow-up
AGE_KINDS = [Kind.AGE_CHANGE_FAMILY, Kind.AGE_CHANGE_COORDINATOR]


@dataclass(frozen=True)
class Moment:
    day: dt.date
    what: str  # "age", "invite" or "yearly"


def pick_child(wanted="", today=None):
    """The child named by public id or first name; by default the youngest child under two
    with a guardian (a demo infant), or None."""
    children = Patient.objects.select_related("center").order_by("-date_of_birth", "pk")
    if wanted:
        try:
            return children.filter(public_id=uuid.UUID(wanted)).first()
        except ValueError:
            return children.filter(first_name__iexact=wanted).first()
    today = today or dt.date.today()
    infants = children.filter(date_of_birth__gt=birthday(today, -2), guardianships__isnull=False)
    return infants.first()


def build_child(today):
    """A child of six months with one parent, at the first center (or a new one): only ever
    inside the rolled-back transaction."""
    center = Center.objects.order_by("pk").first() or Center.objects.create(
        name="Timeline center", time_zone="America/New_York"
    )
    born = birthday(today, months=-FIRST_MONTHS)
    patient = Patient.objects.create(
        center=center, first_name="Robin", last_name="Timeline", date_of_birth=born
    )
    parent = Guardian.objects.create(
        center=center, full_name="Alex Timeline", email=f"timeline-{uuid.uuid4().hex}@example.org"
    )
    Guardianship.objects.create(
        guardian=parent,
        patient=patient,
        relationship=Guardianship.Relationship.MOTHER,
        role=Guardianship.Role.PRIMARY,
    )
    return patient


def moments(patient):
    """The instants to visit, in order (several on one day keep the order invite, age, yearly)."""
    born = patient.date_of_birth
    start, end = birthday(born, months=FIRST_MONTHS), birthday(born, LAST_YEARS)
    days = []
    for age, _change in age_rules.rules_for(patient.center_id):
        day = birthday(born, age)
        days += [Moment(day - dt.timedelta(days=n), "age") for n in (60, 14, 0)]
        if age == INVITE_AT_YEARS:
            days.append(Moment(day - dt.timedelta(days=61), "invite"))
    days += [Moment(birthday(start, n), "yearly") for n in range(LAST_YEARS + 1)]
    days.append(Moment(end, "end"))
    order = {"invite": 0, "age": 1, "yearly": 2, "end": 3}
    kept = {m for m in days if start <= m.day <= end}
    return sorted(kept, key=lambda m: (m.day, order[m.what]))


def age_text(born, day):
    months = (day.year - born.year) * 12 + day.month - born.month
    if day < birthday(born, months=months):
        months -= 1
    years, months = divmod(months, 12)
    return f"{years}y {months:>2}m"


def instant(day):
    return dt.datetime.combine(day, SWEEP_HOUR, tzinfo=dt.UTC)


def roles(patient, now):
    """ "Name: relationship, role[, restriction]" for each guardian of the child, at `now`."""
    in_force = Q(restrictions__starts_at__lte=now) & (
        Q(restrictions__ends_at__isnull=True) | Q(restrictions__ends_at__gt=now)
    )
    links = Guardianship.objects.filter(patient=patient).select_related("guardian").order_by("pk")
    limited = dict(links.filter(in_force).values_list("pk", "restrictions__kind"))
    parts = []
    for link in links:
        text = f"{link.guardian.full_name} ({link.relationship}, {link.role}"
        if link.pk in limited:
            text += f", restricted: {limited[link.pk]}"
        parts.append(text + ")")
    return "; ".join(parts)


class Walk:
    """Runs the moments and collects (day, age, text) lines from the rows written."""

    def __init__(self, patient):
        self.patient = patient
        self.lines = []
        self.seen = {"transition": 0, "reminder": 0, "change": 0, "check": 0}
        self.coordinator = (
            Membership.objects.filter(center_id=patient.center_id, role=Membership.Role.COORDINATOR)
            .select_related("user")
            .order_by("pk")
            .first()
        )

    def say(self, day, text):
        self.lines.append((day, age_text(self.patient.date_of_birth, day), text))

    def start(self, day):
        self.say(day, f"start at {self.patient.center.name}; guardians: {self.roles(day)}")
        stage = self.patient.journeys.order_by("-pk").values_list("stage", flat=True).first()
        self.say(day, f"journey stage: {stage or 'none'} (yearly contact checks ask children "
                      "in long-term follow-up only)")  # fmt: skip
        for key, model in (("transition", AgeTransition), ("reminder", Reminder)):
            self.seen[key] = model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        for key, model in (("change", PortalAccessChange), ("check", ContactConfirmation)):
            self.seen[key] = model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def roles(self, day):
        return roles(self.patient, instant(day))

    def run(self, moment):
        now, day = instant(moment.day), moment.day
        before = roles(self.patient, now)
        if moment.what == "invite":
            self.invite(day, now)
        elif moment.what == "age":
            age_notices.age_transitions(now)
        elif moment.what == "yearly":
            self.to_follow_up(day, now)
            now = self.yearly_instant(now)
            day = now.date()
            followup.sweep(now)
        self.read(day)
        after = roles(self.patient, now)
        if after != before:
            self.say(day, f"guardians before: {before}")
            self.say(day, f"guardians after:  {after}")

    def invite(self, day, now):
        email = f"young-{self.patient.public_id.hex[:8]}@example.org"
        by = self.coordinator.user if self.coordinator else None
        custody.invite_young_person(self.patient, email=email, by=by, now=now)
        who = by.email if by else "a coordinator"
        self.say(day, f"{who} invites {self.patient.first_name} to an own account ({email})")

    def yearly_instant(self, now):
        """The hourly sweep asks again once a check is a full year (365 days) old: on a
        365-day anniversary that is an hour after the last check's time, not at it."""
        last = (
            ContactConfirmation.objects.filter(patient=self.patient)
            .order_by("-requested_at")
            .values_list("requested_at", flat=True)
            .first()
        )
        if last is None:
            return now
        return max(now, last + followup.YEAR + dt.timedelta(hours=1))

    def to_follow_up(self, day, now):
        """A year after the infusion the coordinator moves the journey from monitoring to
        long-term follow-up (so the yearly contact checks apply)."""
        journey = self.patient.journeys.filter(stage=Stage.MONITORING).order_by("-pk").first()
        if journey is None or journey.infusion_date is None:
            return
        if day < journey.infusion_date + FOLLOW_UP_AFTER:
            return
        by = self.coordinator.user if self.coordinator else None
        services.move_stage(
            journey,
            Stage.FOLLOW_UP,
            by=by,
            reason="Timeline replay: a year after the infusion",
            override_reason="Timeline replay",
            now=now,
        )
        self.say(day, "the coordinator moves the journey to long-term follow-up")

    def read(self, day):
        for row in self._new("transition", AgeTransition.objects.filter(patient=self.patient)):
            self.say(day, f"age {row.age_years} ({row.change}): {row.get_step_display()}")
        reminders = Reminder.objects.filter(patient=self.patient, kind__in=AGE_KINDS)
        for row in self._new("reminder", reminders.select_related("guardian", "user")):
            who = row.guardian.full_name if row.guardian_id else f"coordinator {row.user.email}"
            self.say(day, f"notice to {who}: {row.kind} by {row.channel}, sent from "
                          f"{row.send_at:%Y-%m-%d %H:%M} UTC, about {row.due_on}")  # fmt: skip
        guardians = Guardianship.objects.filter(patient=self.patient).values("guardian_id")
        changes = PortalAccessChange.objects.filter(guardian_id__in=guardians)
        for row in self._new("change", changes.select_related("guardian")):
            self.say(day, f"access history of {row.guardian.full_name}: {row.action}")
        checks = ContactConfirmation.objects.filter(patient=self.patient)
        for row in self._new("check", checks.select_related("guardian", "patient")):
            self.say(day, f"yearly contact check asked of {row.guardian.full_name}, "
                          f"answer by {row.answer_by}; answered \"still correct\" "
                          f"{(day + ANSWER_AFTER).isoformat()}")  # fmt: skip
            followup.confirm(row, now=instant(day) + ANSWER_AFTER)

    def _new(self, key, queryset):
        rows = list(queryset.filter(pk__gt=self.seen[key]).order_by("pk"))
        if rows:
            self.seen[key] = max(self.seen[key], rows[-1].pk)
        return rows

    def who_sees(self, day):
        names = access.links_with_access(instant(day)).filter(patient=self.patient)
        return ", ".join(names.values_list("guardian__full_name", flat=True).order_by("pk"))
