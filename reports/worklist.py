"""The worklist's section of open family reports (registered in ReportsConfig.ready)."""

from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils.translation import gettext_lazy as _

from journey.access import scope_to_centers
from tracker.services import WorklistSection, WorklistTime

from .models import OutsideResult, OutsideStatus, Status, SymptomReport


def open_reports(user, at=None):
    """Open reports of the user's centers, the earliest "respond by" first: overdue ones lead."""
    at = at or WorklistTime.current()
    rows = scope_to_centers(SymptomReport.objects.filter(status=Status.OPEN), user, "center")
    late = ExpressionWrapper(Q(respond_by__lt=at.now), output_field=BooleanField())
    return WorklistSection(
        "family-reports",
        _("Families reporting a problem"),
        "admin/reports/_worklist_reports.html",
        rows.select_related("patient").annotate(overdue=late).order_by("respond_by", "pk"),
        empty=_("No family is waiting for an answer."),
    )


def outside_results(user, at=None):
    """Results families sent from other labs, not checked yet, oldest first."""
    rows = scope_to_centers(
        OutsideResult.objects.filter(status=OutsideStatus.PENDING), user, "center"
    )
    return WorklistSection(
        "outside-results",
        _("Results from other labs: reported by family, not verified"),
        "admin/reports/_worklist_outside.html",
        rows.select_related("patient", "test").order_by("created_at", "pk"),
        empty=_("No result from another lab is waiting."),
    )
