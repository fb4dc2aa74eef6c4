"""The follow-up report of one center: per year since infusion, children with their yearly
visit in its window, at risk and lost; a table, a chart and a CSV (tracker.followup)."""

import zoneinfo

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from journey.access import centers_for

from ..followup import report, report_csv, report_svg


def follow_up_report_view(model_admin, request, center_id):
    """A center of the user's (404 for any other); ?format=csv for the CSV."""
    center = get_object_or_404(centers_for(request.user), public_id=center_id)
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(center.time_zone))
    rows = report(center, today)
    if request.GET.get("format") == "csv":
        response = HttpResponse(report_csv(rows), content_type="text/csv; charset=utf-8")
        filename = f"follow-up-{center.public_id}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "private, no-store"
        return response
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Follow-up report: %(center)s") % {"center": center.name},
        "center": center,
        "rows": rows,
        "chart": report_svg(rows),
    }
    return TemplateResponse(request, "admin/tracker/follow_up_report.html", context)
