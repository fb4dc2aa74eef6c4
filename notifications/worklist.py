"""The reminders' sections of the coordinator worklist: failed sends and escalated labs.

Each returns its rows as an ordered queryset; the worklist pages it (tracker.services.worklist).
"""

from django.utils.translation import gettext_lazy as _

from journey.access import center_ids_for
from journey.models import Center
from tracker.services import WorklistSection, WorklistTime

from . import health, services
from .sms.models import PROBLEM_STATUSES, TextNumber


def _center_ids(user):
    ids = center_ids_for(user)
    return list(Center.objects.values_list("pk", flat=True)) if ids is None else list(ids)


def failed_reminders(user, at=None):
    """Newest first; pk breaks ties so that pages never repeat or skip a row."""
    rows = services.failed_reminders_for_centers(_center_ids(user)).order_by("-send_at", "-pk")
    return WorklistSection(
        "failed-reminders",
        _("Reminders that could not be delivered"),
        "admin/notifications/_worklist_failed.html",
        rows,
        empty=_("Every reminder was delivered."),
    )


def escalated_labs(user, at=None):
    """One row per draw (tracker.draws), the oldest due day first."""
    labs = services.escalated_labs_for_centers(_center_ids(user))
    return WorklistSection(
        "escalated-labs",
        _("Overdue labs the family has not answered (escalated)"),
        "admin/notifications/_worklist_escalated.html",
        labs.order_by("due_on", "pk"),
        draw_order=("due_on", "journey_id"),
        empty=_("No escalated labs."),
    )


def relay_down(user, at=None):
    """A banner while the mail relay has been down past RELAY_ALERT_AFTER_SECONDS (one row,
    the relay's; no row: nothing to show). The same for every center: one relay serves all."""
    at = at or WorklistTime.current()
    return WorklistSection(
        "relay-down",
        _("Email delivery paused: the mail relay is down"),
        "admin/notifications/_worklist_relay.html",
        health.relay_down_too_long(at.derived(_relay_cutoff)),
        empty=_("The mail relay is working."),
    )


def _relay_cutoff(at):
    return health.relay_alert_cutoff(at.now)


def refused_numbers(user, at=None):
    """Guardians' numbers the text provider refused (invalid, unsubscribed): no texts go to
    them (their reminders go by email) until the family gives a new number or replies START."""
    rows = (
        TextNumber.objects.filter(
            status__in=PROBLEM_STATUSES, guardian__center_id__in=_center_ids(user)
        )
        .select_related("guardian")
        .order_by("-status_changed_at", "-pk")
    )
    return WorklistSection(
        "refused-numbers",
        _("Phone numbers that cannot get text messages"),
        "admin/notifications/_worklist_numbers.html",
        rows,
        empty=_("Every number takes text messages."),
    )
