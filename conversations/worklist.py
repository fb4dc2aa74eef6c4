"""The worklist's section of family messages past their response time (registered in ready)."""

from django.utils.translation import gettext_lazy as _

from tracker.services import WorklistSection, WorklistTime

from .access import threads_for_staff
from .models import ThreadStatus


def overdue_threads(user, at=None):
    """Threads waiting on the care team past their "respond by" (business hours), oldest first."""
    at = at or WorklistTime.current()
    rows = threads_for_staff(user).filter(status=ThreadStatus.CARE_TEAM, respond_by__lt=at.now)
    return WorklistSection(
        "overdue-messages",
        _("Family messages past their response time"),
        "admin/conversations/_worklist_overdue.html",
        rows.select_related("patient", "assigned_to").order_by("respond_by", "pk"),
        empty=_("No family message is past its response time."),
    )
