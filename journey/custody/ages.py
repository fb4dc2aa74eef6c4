"""Age transitions, announced ahead (issue 17 item 2).

A center's AgePolicy rows say what changes at which age (a center without rows follows
DEFAULT_AGE_POLICY). The daily sweep (notifications.tasks.age_transitions calls `sweep`) looks
at each center's own today, in its zone:

- 60 and 14 days before a birthday that changes access, one AgeTransition notice row each; the
  caller's `tell` plans the emails to the family and the center's coordinators in the same
  transaction (the unique constraint makes every step happen once, whatever the runs);
- on the birthday (or within CATCH_UP_DAYS after it, when the sweep did not run), the change is
  applied: restrictions from the age policy, the young person's own link made the account
  holder, a PortalAccessChange for each guardian concerned. Never silently: a change whose
  notices were missed gets its notice on the day, told with it.

A guardian with a recorded adult guardianship keeps their access.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_noop

from journey.ages import birthday
from journey.models import (
    AdultGuardianship,
    AgeChange,
    AgePolicy,
    AgeStep,
    AgeTransition,
    Center,
    Guardianship,
    GuardianshipRestriction,
    Patient,
    PortalAccessChange,
    RestrictionKind,
    RestrictionSource,
)
from journey.models.custody import DEFAULT_AGE_POLICY

from .services import announce, log_change

NOTICE_DAYS = {AgeStep.NOTICE_60: 60, AgeStep.NOTICE_14: 14}
CATCH_UP_DAYS = 7
Role = Guardianship.Role
Relationship = Guardianship.Relationship

# Stored in English (the reason of an age-policy restriction), shown translated.
AGE_REASON = {
    AgeChange.PARENTS_VIEW_ONLY: gettext_noop("Age policy: parents can read but no longer act."),
    AgeChange.PATIENT_ACCOUNT_HOLDER: gettext_noop(
        "Age policy: the patient is the account holder now."
    ),
}
LIMITS = {
    AgeChange.PARENTS_VIEW_ONLY: RestrictionKind.VIEW_ONLY,
    AgeChange.PATIENT_ACCOUNT_HOLDER: RestrictionKind.NO_ACCESS,
}


@dataclass(frozen=True)
class Due:
    patient: Patient
    age_years: int
    change: str
    birthday: date
    step: str


def policies_by_center():
    """{center_id: [(age, change)]} from one query; a center absent follows the default."""
    found = {}
    for center_id, age, change in AgePolicy.objects.values_list("center_id", "age_years", "change"):
        found.setdefault(center_id, []).append((age, change))
    return found


def step_for(days_left):
    """Which step a birthday `days_left` days ahead (negative: passed) calls for, or None."""
    if days_left < -CATCH_UP_DAYS or days_left > NOTICE_DAYS[AgeStep.NOTICE_60]:
        return None
    if days_left <= 0:
        return AgeStep.APPLIED
    if days_left <= NOTICE_DAYS[AgeStep.NOTICE_14]:
        return AgeStep.NOTICE_14
    return AgeStep.NOTICE_60


def due_steps(now):
    """Every (child, change) whose step is due at `now`: two queries, then one per center and
    rule (children born in the window, on the (center, date_of_birth) index)."""
    policies = policies_by_center()
    for center in Center.objects.only("pk", "time_zone").order_by("pk"):
        today = now.astimezone(ZoneInfo(center.time_zone)).date()
        for age, change in policies.get(center.pk, DEFAULT_AGE_POLICY):
            yield from _due_at(center, today, age, change)


def _due_at(center, today, age, change):
    first = today - timedelta(days=CATCH_UP_DAYS)
    last = today + timedelta(days=NOTICE_DAYS[AgeStep.NOTICE_60])
    # Born `age` years before the window, give or take a day for 29 February.
    born = (birthday(first, -age) - timedelta(days=2), birthday(last, -age) + timedelta(days=2))
    patients = Patient.objects.filter(center=center, date_of_birth__range=born).order_by("pk")
    for patient in patients:
        day = birthday(patient.date_of_birth, age)
        step = step_for((day - today).days)
        if step is not None:
            yield Due(patient, age, change, day, step)


def rules_for(center_id):
    """One center's [(age, change)] (one query), or the default."""
    rows = AgePolicy.objects.filter(center_id=center_id).values_list("age_years", "change")
    return list(rows) or DEFAULT_AGE_POLICY


def upcoming_for(patient, today, rules):
    """The child's next access change within the notice window, as (age, change, day), or
    None (for "who can see this")."""
    soon = []
    for age, change in rules:
        day = birthday(patient.date_of_birth, age)
        if 0 <= (day - today).days <= NOTICE_DAYS[AgeStep.NOTICE_60]:
            soon.append((day, age, change))
    if not soon:
        return None
    day, age, change = min(soon)
    return age, change, day


def sweep(now=None, tell=None):
    """Record every step due at `now` once; `tell(transition)` is called for each new notice
    inside its transaction (the caller plans the emails). Returns the new rows."""
    now = now or timezone.now()
    done = []
    for due in due_steps(now):
        done += _take(due, now, tell)
    return done


def _take(due, now, tell):
    with transaction.atomic():
        made = _record(due, due.step, now)
        if not made:
            return []
        if due.step == AgeStep.APPLIED and not _told(due):
            made = _record(due, AgeStep.NOTICE_14, now) + made  # never silently: told today
        for row in made:
            if row.step == AgeStep.APPLIED:
                apply_change(due.patient, due.change, now)
            elif tell is not None:
                tell(row)
        return made


def _told(due):
    return AgeTransition.objects.filter(
        patient=due.patient,
        change=due.change,
        birthday=due.birthday,
        step__in=list(NOTICE_DAYS),
    ).exists()


def _record(due, step, now):
    """[the new row], or [] when this step was taken already (by this or another run)."""
    try:
        with transaction.atomic():
            row = AgeTransition.objects.create(
                patient=due.patient,
                change=due.change,
                age_years=due.age_years,
                birthday=due.birthday,
                step=step,
                at=now,
            )
    except IntegrityError:
        return []
    return [row]


def apply_change(patient, change, now):
    """On the day: what the change does to each guardianship of the child."""
    kept = AdultGuardianship.objects.filter(guardianship=OuterRef("pk"))
    links = list(
        Guardianship.objects.filter(patient=patient)
        .select_related("guardian")
        .annotate(adult=Exists(kept))
        .order_by("pk")
    )
    parents = [link for link in links if link.relationship != Relationship.SELF]
    limit = LIMITS.get(change)
    for link in parents:
        if limit is not None and not link.adult:
            GuardianshipRestriction.objects.create(
                guardianship=link,
                kind=limit,
                source=RestrictionSource.AGE_POLICY,
                reason=AGE_REASON[change],
                starts_at=now,
                created_at=now,
            )
        log_change(link.guardian, PortalAccessChange.Action.AGE_POLICY, None, now)
    own = [link for link in links if link.relationship == Relationship.SELF]
    if change == AgeChange.PATIENT_ACCOUNT_HOLDER and own:
        _make_account_holder(own[0], parents, now)
    announce([patient.pk])


def _make_account_holder(own, parents, now):
    """The young person's own link becomes the primary one (one primary per child)."""
    for link in parents:
        if link.role == Role.PRIMARY:
            link.role = Role.CO_GUARDIAN
            link.save(update_fields=["role"])
    own.role = Role.PRIMARY
    own.save(update_fields=["role"])
    log_change(own.guardian, PortalAccessChange.Action.AGE_POLICY, None, now)
