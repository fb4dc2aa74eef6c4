"""Staff changes: a leaving coordinator's families go to a colleague in one step, and a check
lists families whose coordinator can no longer look after them (orphans).

What a coordinator "holds" is their assigned families (CareAssignment) plus what higher apps
register here (conversations: open message threads), since journey imports none of them. Open
checklist steps, results to acknowledge and family reports have no owner: they belong to the
family's center and follow the family.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .inputs import require_reason
from .models import CareAssignment, Membership, StaffHandover


@dataclass(frozen=True)
class Orphan:
    """One item (not a family) whose holder can no longer look after it."""

    kind: str
    center: Any
    patient: Any
    holder: Any


@dataclass(frozen=True)
class HeldItems:
    """A kind of item a coordinator holds, registered by the app that owns it (in ready()).

    move(from_user, to_user, center_ids, by, now) hands the items of `from_user` at those
    centers to `to_user`, leaves the app's own history, and answers how many moved;
    orphans() answers Orphan rows: items held by a deactivated coordinator or one who is no
    longer a member of the item's center."""

    key: str
    label: Any
    move: Callable[..., int]
    orphans: Callable[[], Iterable[Orphan]]


_HELD: dict[str, HeldItems] = {}


def register_held_items(items):
    _HELD[items.key] = items
    return items


def held_items():
    return list(_HELD.values())


def orphaned_items():
    """Every registered kind's orphans (one query per kind), as Orphan rows."""
    return [orphan for items in held_items() for orphan in items.orphans()]


def _is_member(center_path="patient__center"):
    """SQL: the assignment's coordinator is a member of the family's center."""
    return Exists(
        Membership.objects.filter(user=OuterRef("coordinator"), center=OuterRef(center_path))
    )


def orphans():
    """Assignments whose coordinator is deactivated or no longer works at the family's center
    (one query), by center then family."""
    return (
        CareAssignment.objects.annotate(member=_is_member())
        .filter(Q(coordinator__is_active=False) | Q(member=False))
        .select_related("patient__center", "coordinator")
        .order_by("patient__center__name", "patient__last_name", "patient__pk")
    )


@transaction.atomic
def hand_over(from_user, to_user, *, by, reason, now=None):
    """Move every family assigned to `from_user` to `to_user`, and the registered items (open
    threads) at the colleague's centers, recorded in one row with the counts.

    Refused (nothing moves) when the colleague is inactive, the same person, or does not work
    at one of the families' centers."""
    now = now or timezone.now()
    reason = require_reason(reason)
    if to_user.pk == from_user.pk:
        raise ValidationError({"to_user": _("Choose a colleague, not the same person.")})
    if not to_user.is_active:
        raise ValidationError({"to_user": _("This colleague's account is deactivated.")})
    # Lock the leaving coordinator's rows first (no DISTINCT may ride along with FOR UPDATE).
    mine = CareAssignment.objects.select_for_update().filter(coordinator=from_user)
    assignments = CareAssignment.objects.filter(pk__in=list(mine.values_list("pk", flat=True)))
    their_centers = set(to_user.memberships.values_list("center_id", flat=True))
    outside = (
        assignments.exclude(patient__center_id__in=their_centers)
        .values_list("patient__center__name", flat=True)
        .distinct()
    )
    if outside:
        raise ValidationError(
            {
                "to_user": _("%(name)s does not work at %(centers)s.")
                % {"name": to_user, "centers": ", ".join(sorted(outside))}
            }
        )
    moved = assignments.update(coordinator=to_user, assigned_at=now)
    items = {
        held.key: held.move(from_user, to_user, their_centers, by, now) for held in held_items()
    }
    return StaffHandover.objects.create(
        from_user=from_user,
        to_user=to_user,
        by=by,
        moved_at=now,
        families=moved,
        items={key: count for key, count in items.items() if count},
        reason=reason,
    )
