"""A leaving coordinator's open threads in the staff hand-over (journey.staffing), and the
open threads whose assignee can no longer answer them (orphans). Registered in ready()."""

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from journey.models import Membership
from journey.staffing import HeldItems, Orphan

from .models import EventKind, Thread, ThreadEvent
from .models import ThreadStatus as S


def open_threads():
    return Thread.objects.exclude(status=S.CLOSED)


def move_threads(from_user, to_user, center_ids, by, now):
    """The open threads `from_user` has at `center_ids` go to `to_user`, each with an
    "assigned" event; closed threads and other centers' threads stay. Answers how many."""
    mine = open_threads().filter(assigned_to=from_user, center_id__in=center_ids)
    pks = list(mine.select_for_update().values_list("pk", flat=True))
    if not pks:
        return 0
    Thread.objects.filter(pk__in=pks).update(assigned_to=to_user)
    ThreadEvent.objects.bulk_create(
        ThreadEvent(thread_id=pk, kind=EventKind.ASSIGNED, by=by, to=to_user, at=now) for pk in pks
    )
    return len(pks)


def orphaned_threads():
    """Open threads assigned to a deactivated coordinator or to one no longer a member of the
    thread's center (one query), by center then thread."""
    member = Exists(
        Membership.objects.filter(user=OuterRef("assigned_to"), center=OuterRef("center"))
    )
    return (
        open_threads()
        .filter(assigned_to__isnull=False)
        .annotate(member=member)
        # An administrator may hold a thread without being a member (services.assign).
        .filter(Q(assigned_to__is_active=False) | Q(member=False, assigned_to__is_superuser=False))
        .select_related("center", "patient", "assigned_to")
        .order_by("center__name", "pk")
    )


def orphans():
    return [Orphan("thread", t.center, t.patient, t.assigned_to) for t in orphaned_threads()]


HELD_THREADS = HeldItems(
    key="threads", label=_("message threads"), move=move_threads, orphans=orphans
)
