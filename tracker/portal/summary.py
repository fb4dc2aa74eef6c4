"""The next draw on the family's home and child pages: the one the family must act on.

journey's portal pages send `portal_journeys_loaded` once per page with every journey shown;
this fills `journey.portal_extras["next_draw"]` (a NextDraw, or None) for all of them in one
query. A draw is tracker.draws' (one journey, one due day): its tests are listed once.

- The next draw is the first whose window has not closed: upcoming, due, or late but still
  inside its window ("still time: please have it done by ...").
- A draw whose window has closed undone is the care team's to resolve: it never takes the
  place of the next one and carries no "Late" tag; the child page mentions the latest one.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Max, Min, Q
from django.utils.translation import gettext as _

from journey.prepared import Prepared
from tracker.draws import group_draws
from tracker.models import ItemKind, ScheduledLab

from . import wording as w

# What the home and child pages read of each row (a row has about twenty columns).
SHOWN = ("journey_id", "due_on", "window_start", "window_end", "item__kind", "item__title")


@dataclass
class NextDraw:
    """The next draw in words, every text formatted here; the templates only print."""

    due_on: datetime.date
    is_visit: bool = False
    late: bool = False  # the due day has passed; the window has not
    now: bool = False  # inside its window, due day not passed
    label: str = ""  # "Next blood test" / "Next clinic visit"
    when: str = ""  # "Monday, Jan. 26, 2026"
    short: str = ""  # the home page's line after the label
    advice: str = ""  # the window, or what to do when late
    tests: list = field(default_factory=list)


def _family_rows():
    """Open rows the family goes to (no hospital stays, no care-team checkpoints)."""
    return (
        ScheduledLab.objects.open()
        .filter(item__inpatient=False)
        .exclude(item__kind=ItemKind.CHECKPOINT)
    )


def _build_rows(journey_ids, today):
    shown = _family_rows().filter(journey__in=journey_ids)
    per_journey = shown.order_by().values("journey_id")
    next_days = per_journey.filter(window_end__gte=today).annotate(day=Min("due_on"))
    missed_days = per_journey.filter(window_end__lt=today).annotate(day=Max("due_on"))
    return (
        shown.filter(
            Q(due_on__in=next_days.values("day")) | Q(due_on__in=missed_days.values("day"))
        )
        .select_related("item")
        .only(*SHOWN)
        .order_by("journey_id", "due_on", "item__position", "pk")
    )


# Compiled once per number of journeys (journey.prepared).
NEXT_ROWS = Prepared(_build_rows, journey_ids=list, today=datetime.date)


def _rows(journeys, today):
    """The rows of each journey's next draw (the first due day whose window is still open)
    and of its latest draw whose window closed undone, in one query.

    The two sets of days are uncorrelated subqueries (one MIN and one MAX per journey, on the
    open rows' (journey, due_on) index); with several journeys a row may come along on another
    journey's day, which attach_next_draws' first / last pick leaves aside.
    """
    return NEXT_ROWS.run(journey_ids=[j.pk for j in journeys], today=today)


def next_draw(draw, today, days):
    """A draw (tracker.draws.Draw) as the family should read it on `today`."""
    kinds = {row.item.kind for row in draw.rows}
    view = NextDraw(draw.due_on, is_visit=ItemKind.LAB not in kinds)
    view.label = _("Next clinic visit") if view.is_visit else _("Next blood test")
    view.when = days.full(draw.due_on)
    view.tests = list(dict.fromkeys(w.data_text(row.item.title) for row in draw.rows))
    end = days.long(draw.window_end)
    if draw.due_on < today:
        view.late = True
        dates = {"due": days.long(draw.due_on), "end": end}
        view.short = _("%(due)s (late: go by %(end)s)") % dates
        view.advice = (
            _("This was due on %(due)s. There is still time: please have it done by %(end)s.")
            % dates
        )
        return view
    view.now = draw.window_start <= today
    view.short = view.when
    if draw.window_start != draw.window_end:
        view.advice = _("Any day from %(start)s to %(end)s is fine.") % {
            "start": days.long(draw.window_start),
            "end": end,
        }
    return view


def missed_note(draw, days):
    """The latest draw whose window closed undone: the care team's to resolve, said calmly."""
    if all(row.item.kind == ItemKind.VISIT for row in draw.rows):
        text = _("The visit of %(day)s did not happen in time. Your care team will contact you.")
    else:
        text = _(
            "The blood test of %(day)s was not done in time. Your care team will contact you "
            "about it."
        )
    return text % {"day": days.long(draw.due_on)}


def attach_next_draws(sender, journeys, today, **kwargs):
    """`portal_extras["next_draw"]` for every journey shown: one query for all."""
    draws = {}
    for draw in group_draws(_rows(journeys, today)):
        draws.setdefault(draw.journey_id, []).append(draw)
    days = w.DayWords()
    for journey in journeys:
        found = draws.get(journey.pk, [])
        upcoming = [d for d in found if d.window_end >= today]
        closed = [d for d in found if d.window_end < today]
        extras = journey.portal_extras
        extras["next_draw"] = next_draw(upcoming[0], today, days) if upcoming else None
        extras["missed_draw"] = missed_note(closed[-1], days) if closed else ""
