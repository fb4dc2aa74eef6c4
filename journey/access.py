"""Who may see what. One helper per object kind; the admin and the portal both use these."""

from django.db.models import Q, Subquery
from django.shortcuts import get_object_or_404

from .models import Center, CenterTransfer, Guardian, Journey, Patient


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


def patients_for_guardian(user):
    """The children a logged-in guardian may see (portal)."""
    if not user.is_authenticated or not user.is_active:
        return Patient.objects.none()
    return Patient.objects.filter(guardianships__guardian__user=user)


def child_journeys_for_guardian(user, public_id, journeys=None):
    """The journeys (of `journeys`, a Journey queryset, else all) of the guardian's child with
    this public id: none for another family's child. A page reads the child with its journey
    in one query this way.

    The child is found by patients_for_guardian in a scalar subquery, which PostgreSQL plans on
    its own: joining the guardianship rows to the journey's own joins (therapy, centers, plan)
    made planning alone take longer than the two queries it replaced.
    """
    journeys = Journey.objects.all() if journeys is None else journeys
    child = patients_for_guardian(user).filter(public_id=public_id).values("pk")[:1]
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
