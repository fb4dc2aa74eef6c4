""" "Who can see this": what each guardian may do now, and the changes the age policy brings.

Three queries: the guardianships with their restrictions in force, the child's age-transition
history, the center's age policy.
"""

from zoneinfo import ZoneInfo

from django.db.models import Prefetch
from django.utils.translation import gettext as _

from journey.custody import ages
from journey.models import (
    AgeChange,
    AgeTransition,
    Guardianship,
    GuardianshipRestriction,
    RestrictionKind,
)
from journey.models.custody import active_restrictions

from . import words

Role = Guardianship.Role


def guardianships_for(child, now):
    """The child's guardianships, each with `can` (what they may do now, in words)."""
    in_force = GuardianshipRestriction.objects.filter(active_restrictions(now))
    links = list(
        Guardianship.objects.filter(patient=child)
        .select_related("guardian__user")
        .prefetch_related(Prefetch("restrictions", queryset=in_force, to_attr="in_force"))
        .order_by("-is_primary", "guardian__full_name")
    )
    for link in links:
        link.can = _can(link)
    return links


def _can(link):
    kinds = {restriction.kind for restriction in link.in_force}
    if RestrictionKind.NO_ACCESS in kinds:
        return _("No access")
    if RestrictionKind.VIEW_ONLY in kinds or link.role == Role.VIEW_ONLY:
        return _("Can read; cannot change settings, invite or send messages")
    return link.get_role_display()


def what_to_do(change, name, day):
    """What changes on `day` and what the family can do, in the reader's language."""
    values = {"name": name, "day": words.day(day)}
    if change == AgeChange.TEEN_ASSENT:
        text = _(
            "From %(day)s we ask %(name)s to agree to what parents see; parents keep full "
            "access. %(name)s can have an account of their own: ask your care team."
        )
    elif change == AgeChange.PARENTS_VIEW_ONLY:
        text = _(
            "From %(day)s parents can read %(name)s's pages but no longer change settings, "
            "send reports or messages. If a court has named you guardian, bring the document "
            "to your care team."
        )
    else:
        text = _(
            "From %(day)s %(name)s holds the account and parents' access ends, unless the care "
            "team records an adult guardianship (bring the court's document). Ask your care "
            "team to invite %(name)s to an account of their own."
        )
    return text % values


def changes_for(child, now):
    """The coming change (within 60 days) and the history of told and applied changes."""
    today = now.astimezone(ZoneInfo(child.center.time_zone)).date()
    upcoming = ages.upcoming_for(child, today, ages.rules_for(child.center_id))
    coming = None
    if upcoming is not None:
        age, change, day = upcoming
        coming = {"age": age, "day": day, "text": what_to_do(change, child.first_name, day)}
    history = AgeTransition.objects.filter(patient=child).order_by("-at", "-pk")[:20]
    return {"coming": coming, "history": list(history)}
