"""What the family portal pages show, built in a fixed number of queries per page.

Every list here is one queryset; the views only pass the result to a template.
"""

import datetime
import uuid
from dataclasses import dataclass, field

from django.db.models import OuterRef, Subquery
from django.dispatch import Signal
from django.http import Http404
from django.utils import timezone

from journey.access import child_journeys_of, children_of
from journey.models import (
    EXIT_STAGES,
    STAGE_ORDER,
    Center,
    ChecklistStep,
    Diagnosis,
    EligibilityCheck,
    Journey,
    Membership,
    Patient,
    Responsible,
    StageChange,
)

from ..prepared import Prepared
from . import custody, markup, words

# Sent with every portal page that shows children, once per page (never per child), so that a
# higher app (tracker) can attach what it knows, e.g. `journey.portal_extras["next_lab"]`, in
# a constant number of queries. Arguments: journeys=[Journey], today=date.
portal_journeys_loaded = Signal()
# Sent by the emergency card, once, so that tracker can attach the current steroid and the
# latest key results (`journey.portal_extras["card"]`). Arguments: journey=Journey, today=date.
portal_card_loaded = Signal()


# The journey columns the portal pages read (the therapy is joined for its name only).
JOURNEY_SHOWN = (
    *("patient_id", "center_id", "therapy_id", "stage", "infusion_date"),
    *("opened_at", "closed_at"),
)
STEP_SHOWN = ("journey_id", "code", "stage", "title", "responsible")
STEP_SHOWN += ("due_on", "done_on", "position")
# A child page reads the child (whole, with its center) in its journey's query.
CHILD_COLUMNS = tuple(f"patient__{f.attname}" for f in Patient._meta.concrete_fields)
CHILD_COLUMNS += tuple(f"patient__center__{f.attname}" for f in Center._meta.concrete_fields)
# What the emergency card shows of the therapy (its catalogue row is large: label, schedule).
THERAPY_ON_CARD = ("therapy__name", "therapy__generic_name", "therapy__urgent_symptoms")


@dataclass
class TimelineEntry:
    stage: str
    name: str
    meaning: str
    state: str  # "done", "current", "next", "later" or "ended"
    entered_at: object = None
    tag: str = ""  # the state in words ("✓ Done", "● Now")
    date_text: str = ""  # "since Feb. 3, 2026" / "on Feb. 3, 2026"

    @property
    def is_current(self):
        return self.state in ("current", "ended")

    @property
    def shows_meaning(self):
        return self.state in ("current", "ended", "next")


@dataclass
class StepView:
    title: str
    who: str
    responsible: str
    due_on: object
    done_on: object
    overdue: bool
    due_text: str = ""  # "Feb. 3, 2026" (the language's DATE_FORMAT)
    done_text: str = ""


@dataclass
class ChildView:
    child: object
    journey: object = None
    stage_name: str = ""
    stage_meaning: str = ""
    next_step: object = None
    open_steps: list = field(default_factory=list)
    done_steps: list = field(default_factory=list)
    timeline: list = field(default_factory=list)
    eligibility_note: str = ""
    # The child page's rows as HTML (journey.portal.markup), set by child_page.
    open_steps_html: str = ""
    done_steps_html: str = ""
    timeline_html: str = ""


def _latest_verdict():
    """The verdict of the journey's latest eligibility check for its current therapy."""
    checks = EligibilityCheck.objects.filter(journey=OuterRef("pk"), therapy=OuterRef("therapy"))
    return Subquery(checks.order_by("-run_at", "-pk").values("verdict")[:1])


# The pages' queries are compiled once (journey.prepared); each request runs them with its
# own login, child, journeys and clock.
HOME_CHILDREN = Prepared(
    lambda user_id, now: children_of(user_id, now).order_by("first_name", "last_name"),
    user_id=int,
    now=datetime.datetime,
)
CHILDREN_JOURNEYS = Prepared(
    lambda patient_ids: (
        Journey.objects.filter(patient__in=patient_ids)
        .select_related("therapy")
        .only(*JOURNEY_SHOWN, "therapy__name")
        .annotate(latest_verdict=_latest_verdict())
        .order_by("patient_id", "-opened_at", "-pk")
    ),
    patient_ids=list,
)
CURRENT_STEPS = Prepared(
    lambda journey_ids: (
        ChecklistStep.objects.filter(journey__in=journey_ids)
        .only(*STEP_SHOWN)
        .order_by()  # sorted in Python; the model's ordering would join the journey
    ),
    journey_ids=list,
)
STAGE_CHANGES = Prepared(
    lambda journey_id: (
        StageChange.objects.filter(journey_id=journey_id)
        .order_by("moved_at", "pk")
        .only("to_stage", "from_stage", "moved_at")
    ),
    journey_id=int,
)
# A child without a journey yet: the child alone (the rare second query of a child page).
CHILD_ALONE = Prepared(
    lambda user_id, public_id, now: (
        children_of(user_id, now).filter(public_id=public_id).select_related("center")[:1]
    ),
    user_id=int,
    public_id=uuid.UUID,
    now=datetime.datetime,
)


def _latest_journeys(children):
    """Each child's latest journey (open or ended), with its therapy and the verdict of its
    latest eligibility check: one query."""
    latest = {}
    for journey in CHILDREN_JOURNEYS.run(patient_ids=[c.pk for c in children]):
        latest.setdefault(journey.patient_id, journey)
    return latest


def _step_view(step, today):
    # "Late" is for what the family must do; a step the clinic, the care team or the payer
    # owns is theirs to chase and never shows "Late" to the family.
    overdue = (
        step.responsible == Responsible.FAMILY
        and step.done_on is None
        and step.due_on is not None
        and step.due_on < today
    )
    return StepView(
        title=words.step_title(step),
        who=words.WHO.get(step.responsible, step.responsible),
        responsible=step.responsible,
        due_on=step.due_on,
        done_on=step.done_on,
        overdue=overdue,
        due_text=words.day(step.due_on),
        done_text=words.day(step.done_on),
    )


def _step_order(step):
    return (step.due_on is None, step.due_on, step.position, step.code)


def _current_steps(journeys, today):
    """The steps of each journey's current stage, split into open and done: one query."""
    current = {j.pk: j.stage for j in journeys}
    steps = CURRENT_STEPS.run(journey_ids=list(current))
    by_journey = {pk: ([], []) for pk in current}
    for step in sorted(steps, key=_step_order):
        if step.stage == current[step.journey_id]:
            open_steps, done_steps = by_journey[step.journey_id]
            (done_steps if step.done_on else open_steps).append(_step_view(step, today))
    return by_journey


def _child_view(child, journey, steps):
    view = ChildView(child=child, journey=journey)
    if journey is None:
        return view
    view.stage_name = words.stage_name(journey.stage)
    view.stage_meaning = words.STAGE_MEANINGS.get(journey.stage, "")
    view.open_steps, view.done_steps = steps.get(journey.pk, ([], []))
    view.next_step = view.open_steps[0] if view.open_steps else None
    view.eligibility_note = words.eligibility_note(journey)
    journey.portal_extras = {}
    return view


def children_for_home(user):
    """The guardian's children with their stage and next step, in three queries."""
    if not user.is_authenticated or not user.is_active:
        return []
    return _views(HOME_CHILDREN.run(user_id=user.pk, now=timezone.now()))


def _views(children, latest=None):
    today = timezone.localdate()
    if latest is None:
        latest = _latest_journeys(children) if children else {}
    journeys = list(latest.values())
    steps = _current_steps(journeys, today) if journeys else {}
    views = [_child_view(c, latest.get(c.pk), steps) for c in children]
    if journeys:
        portal_journeys_loaded.send(sender=Journey, journeys=journeys, today=today)
    return views


def journey_with_child(journeys):
    """A prepared query (journey.prepared) for child_and_journey: the first of `journeys()`
    (a Journey queryset in the order wanted, latest first) of the guardian's child with this
    public id (journey.access), read with the child and its center."""

    def build(user_id, public_id, now):
        mine = child_journeys_of(user_id, public_id, journeys(), now)
        return mine.select_related("patient__center")[:1]

    return Prepared(build, user_id=int, public_id=uuid.UUID, now=datetime.datetime)


def child_and_journey(user, public_id, query):
    """(the guardian's child with this public id, its journey as `query` picks it, or None),
    or 404.

    `query` is a journey_with_child query: one query for the child with its journey through
    journey.access. A child with no journey yet costs a second query (the child alone);
    another family's child, like one that does not exist, is a 404.
    """
    if not user.is_authenticated or not user.is_active:
        raise Http404
    values = {"user_id": user.pk, "public_id": _uuid(public_id), "now": timezone.now()}
    journey = query.first(**values)
    if journey is not None:
        return journey.patient, journey
    child = CHILD_ALONE.first(**values)
    if child is None:
        raise Http404
    return child, None


def _uuid(public_id):
    try:
        return public_id if isinstance(public_id, uuid.UUID) else uuid.UUID(str(public_id))
    except ValueError:
        raise Http404 from None


CHILD_PAGE_JOURNEY = journey_with_child(
    lambda: (
        Journey.objects.select_related("therapy")
        .only(*JOURNEY_SHOWN, "therapy__name", *CHILD_COLUMNS)
        .annotate(latest_verdict=_latest_verdict())
        .order_by("-opened_at", "-pk")
    )
)


def child_page(user, public_id):
    """(child, ChildView): one child's journey, timeline and steps, in four queries (the child
    with its latest journey, the steps, the next draw, the stage changes)."""
    child, journey = child_and_journey(user, public_id, CHILD_PAGE_JOURNEY)
    view = _views([child], {child.pk: journey} if journey else {})[0]
    if view.journey is not None:
        view.timeline = timeline(view.journey)
        view.open_steps_html = markup.open_steps_html(view.open_steps)
        view.done_steps_html = markup.done_steps_html(view.done_steps)
        view.timeline_html = markup.timeline_html(view.timeline)
    return child, view


def timeline(journey):
    """The seven stages with done / current / next / later, or how an ended journey ended.

    The current stage shows when it was last entered ("since"); a done stage the day it was
    last left ("on": a journey may go back a stage and forward again), from the append-only
    StageChange rows: one query.
    """
    entered, left = {}, {}
    for change in STAGE_CHANGES.run(journey_id=journey.pk):
        entered[change.to_stage] = change
        left[change.from_stage] = change
    if journey.stage in EXIT_STAGES:
        return _ended_timeline(journey, entered, left)
    now = STAGE_ORDER.index(journey.stage)
    entries = []
    for index, stage in enumerate(STAGE_ORDER):
        state = _state(index, now)
        at = None
        if state == "current" and stage in entered:
            at = entered[stage].moved_at
        elif state == "done" and stage in left:
            at = left[stage].moved_at
        entries.append(_entry(stage, state, at))
    return entries


def _state(index, now):
    if index < now:
        return "done"
    if index == now:
        return "current"
    return "next" if index == now + 1 else "later"


def _entry(stage, state, at):
    meaning = words.STAGE_MEANINGS.get(stage, "")
    entry = TimelineEntry(stage, words.stage_name(stage), meaning, state, at)
    entry.tag = words.timeline_tag(state)
    entry.date_text = words.timeline_date(state, at) if at else ""
    return entry


def _ended_timeline(journey, entered, left):
    exit_change = entered.get(journey.stage)
    last_open = exit_change.from_stage if exit_change else ""
    reached = STAGE_ORDER.index(last_open) + 1 if last_open in STAGE_ORDER else 0
    entries = [
        _entry(stage, "done", left[stage].moved_at if stage in left else None)
        for stage in STAGE_ORDER[:reached]
    ]
    ended_at = exit_change.moved_at if exit_change else journey.closed_at
    entries.append(_entry(journey.stage, "ended", ended_at))
    return entries


def people_for(child, now=None):
    """Who can see this child's pages: their guardians with what each may do now, and the
    center's care team (3 queries; the age changes are custody.changes_for's)."""
    guardianships = custody.guardianships_for(child, now or timezone.now())
    team = (
        Membership.objects.filter(center_id=child.center_id, user__is_active=True)
        .select_related("user")
        .order_by("role", "user__full_name", "user__email")
    )
    return list(guardianships), list(team)


def _latest_diagnosis(patient):
    """The condition name of the patient's latest confirmed diagnosis (a subquery)."""
    found = Diagnosis.objects.filter(patient=patient).order_by("-confirmed_on", "-pk")
    return Subquery(found.values("condition__name")[:1])


# Journeys latest first, with their therapy and the child's diagnosis.
CARD_JOURNEY = journey_with_child(
    lambda: (
        Journey.objects.select_related("therapy")
        .only(*JOURNEY_SHOWN, *THERAPY_ON_CARD, "therapy__steroid_regimen", *CHILD_COLUMNS)
        .annotate(diagnosis=_latest_diagnosis(OuterRef("patient")))
        .order_by("-opened_at", "-pk")
    )
)


def card_page(user, public_id):
    """(child, context): what the emergency card shows: the journey (with
    `portal_extras["card"]` from tracker) and the diagnosis. One query for the child with its
    latest journey (two without one), plus what the card's listeners read."""
    child, journey = child_and_journey(user, public_id, CARD_JOURNEY)
    if journey is None:
        diagnosis = Diagnosis.objects.filter(patient=child).order_by("-confirmed_on", "-pk")
        name = diagnosis.values_list("condition__name", flat=True).first()
        return child, {"journey": None, "therapy": None, "diagnosis": name or ""}
    journey.portal_extras = {}
    portal_card_loaded.send(sender=Journey, journey=journey, today=timezone.localdate())
    context = {"journey": journey, "therapy": journey.therapy}
    return child, {**context, "diagnosis": journey.diagnosis or ""}
