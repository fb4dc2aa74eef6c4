"""The reminders' sections of the coordinator worklist: failed sends and escalated labs."""

from django.utils.translation import gettext_lazy as _

from journey.access import center_ids_for
from journey.models import Center
from tracker.services import WorklistSection

from . import services


def _center_ids(user):
    ids = center_ids_for(user)
    return list(Center.objects.values_list("pk", flat=True)) if ids is None else list(ids)


def failed_reminders(user):
    rows = list(services.failed_reminders_for_centers(_center_ids(user))[:200])
    return WorklistSection(
        "failed-reminders",
        _("Reminders that could not be delivered"),
        "admin/notifications/_worklist_failed.html",
        rows,
    )


def escalated_labs(user):
    labs = services.escalated_labs_for_centers(_center_ids(user))
    rows = list(labs.select_related("item", "journey__patient").order_by("due_on", "pk")[:200])
    return WorklistSection(
        "escalated-labs",
        _("Overdue labs the family has not answered (escalated)"),
        "admin/notifications/_worklist_escalated.html",
        rows,
    )
