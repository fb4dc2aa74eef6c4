"""Staff changes: a leaving coordinator's families go to a colleague in one step, and a check
lists families whose coordinator can no longer look after them (orphans).

What a coordinator "holds" is their assigned families (CareAssignment); open checklist steps
and family reports belong to the family's center and follow the family.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .inputs import require_reason
from .models import CareAssignment, Membership, StaffHandover


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
    """Move every family assigned to `from_user` to `to_user`, recorded in one row.

    Refused (nothing moves) when the colleague is inactive, the same person, or does not work
    at one of the families' centers."""
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
    moved = assignments.update(coordinator=to_user, assigned_at=now or timezone.now())
    return StaffHandover.objects.create(
        from_user=from_user,
        to_user=to_user,
        by=by,
        moved_at=now or timezone.now(),
        families=moved,
        reason=reason,
    )
