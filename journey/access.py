"""Who may see what. One helper per object kind; the admin and the portal both use these."""

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import (
    Center,
    CenterTransfer,
    Guardian,
    Guardianship,
    GuardianshipRestriction,
    Journey,
    Patient,
    RestrictionKind,
)
from .models.custody import active_restrictions

Role = Guardianship.Role


class Action:
    """What a guardian may do about a child; other apps (conversations) pass these names."""

    READ = "read"
    CHANGE_SETTINGS = "change_settings"  # reminder preferences, pauses, a new calendar link
    INVITE = "invite"  # invite another guardian
    MESSAGE = "message"  # write to the care team
    REPORT = "report"  # "Something is wrong", an outside result


ALL_ACTIONS = frozenset(
    [Action.READ, Action.CHANGE_SETTINGS, Action.INVITE, Action.MESSAGE, Action.REPORT]
)
ROLE_ACTIONS = {
    Role.PRIMARY: ALL_ACTIONS,
    Role.CO_GUARDIAN: ALL_ACTIONS - {Action.INVITE},
    Role.VIEW_ONLY: frozenset([Action.READ]),
}


def center_ids_for(user):
    """Centers a staff user works at; None means every center (superuser)."""
    if not user.is_authenticated or not user.is_active:
        return set()
    if user.is_superuser:
        return None
    if not hasattr(user, "_waypoint_center_ids"):
        user._waypoint_center_ids = set(user.memberships.values_list("center_id", flat=True))
    return user._waypoint_center_ids


def scope_to_centers(queryset, user, center_path):
    """Filter any queryset to the user's centers, following `center_path` ("patient__center")."""
    ids = center_ids_for(user)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{center_path}__in": ids})


def centers_for(user):
    return scope_to_centers(Center.objects.all(), user, "pk")


def patients_for_staff(user):
    return scope_to_centers(Patient.objects.all(), user, "center")


def journeys_for_staff(user):
    return scope_to_centers(Journey.objects.all(), user, "patient__center")


def guardians_for_staff(user):
    """Guardians enrolled at the user's centers or linked to one of their patients."""
    ids = center_ids_for(user)
    if ids is None:
        return Guardian.objects.all()
    return Guardian.objects.filter(Q(center_id__in=ids) | Q(children__center_id__in=ids)).distinct()


def _restricted(kind, now):
    """Exists: the outer guardianship has a restriction of `kind` in force at `now`."""
    found = GuardianshipRestriction.objects.filter(guardianship=OuterRef("pk"), kind=kind)
    return Exists(found.filter(active_restrictions(now)))


def links_with_access(now=None):
    """Guardianships whose guardian may see the child now: no "no access" restriction in force.

    Read on every request (no cache): a restriction takes effect on the next request."""
    now = now or timezone.now()
    return Guardianship.objects.filter(~_restricted(RestrictionKind.NO_ACCESS, now))


def patients_for_guardian(user, now=None):
    """The children a logged-in guardian may see (portal); a child of a guardianship with a
    "no access" restriction in force is not among them (404, as for a stranger's child)."""
    if not user.is_authenticated or not user.is_active:
        return Patient.objects.none()
    return children_of(user.pk, now)


def children_of(user_id, now=None):
    """patients_for_guardian for a login already known to be active, by its id (the portal's
    prepared queries, journey.prepared, are built from this with stand-in values)."""
    links = links_with_access(now).filter(guardian__user_id=user_id).values("patient_id")
    return Patient.objects.filter(pk__in=links)


def child_journeys_for_guardian(user, public_id, journeys=None):
    """The journeys (of `journeys`, a Journey queryset, else all) of the guardian's child with
    this public id: none for another family's child. A page reads the child with its journey
    in one query this way.

    The child is found by patients_for_guardian in a scalar subquery, which PostgreSQL plans on
    its own: joining the guardianship rows to the journey's own joins (therapy, centers, plan)
    made planning alone take longer than the two queries it replaced.
    """
    if not user.is_authenticated or not user.is_active:
        return Journey.objects.none()
    return child_journeys_of(user.pk, public_id, journeys)


def child_journeys_of(user_id, public_id, journeys=None, now=None):
    """child_journeys_for_guardian for a login already known to be active, by its id."""
    journeys = Journey.objects.all() if journeys is None else journeys
    child = children_of(user_id, now).filter(public_id=public_id).values("pk")[:1]
    return journeys.filter(patient_id=Subquery(child))


def get_child_or_404(user, public_id, *related):
    """One child of this guardian by its public id; any other child answers 404, never 403."""
    queryset = patients_for_guardian(user).select_related("center", *related)
    return get_object_or_404(queryset, public_id=public_id)


def transfers_for_staff(user):
    """Hand-overs from or to the user's centers: the old center reads the history up to the
    hand-over from these (read-only), never the child's own pages."""
    ids = center_ids_for(user)
    transfers = CenterTransfer.objects.all()
    if ids is None:
        return transfers
    return transfers.filter(Q(from_center_id__in=ids) | Q(to_center_id__in=ids))


def effective_role(user, patient, now=None):
    """The role this guardian acts with now (a "view only" restriction lowers it), or None when
    they may not see the child at all."""
    if not user.is_authenticated or not user.is_active:
        return None
    now = now or timezone.now()
    link = (
        Guardianship.objects.filter(guardian__user=user, patient=patient)
        .annotate(
            hidden=_restricted(RestrictionKind.NO_ACCESS, now),
            read_only=_restricted(RestrictionKind.VIEW_ONLY, now),
        )
        .values_list("role", "hidden", "read_only")
        .first()
    )
    if link is None or link[1]:
        return None
    return Role.VIEW_ONLY if link[2] else link[0]


def can_act(user, patient, action, now=None):
    """May this guardian take `action` (an Action name) about this child now?"""
    return action in ROLE_ACTIONS.get(effective_role(user, patient, now), ())


def require_action(user, patient, action, now=None):
    """404 when the child is hidden from this guardian, 403 when their role does not allow it."""
    role = effective_role(user, patient, now)
    if role is None:
        raise Http404
    if action not in ROLE_ACTIONS[role]:
        raise PermissionDenied


def get_child_for_action_or_404(user, public_id, action, *related):
    """One child of this guardian, for an action their role must allow (else 403)."""
    child = get_child_or_404(user, public_id, *related)
    require_action(user, child, action)
    return child
