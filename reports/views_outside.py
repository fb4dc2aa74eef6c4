"""The family's outside results: send one, and fetch the file sent (theirs only).

The child comes from journey.access.get_child_or_404; a report is looked up only among that
child's reports, so another family's report answers 404. Coordinators fetch the same file
from the admin (reports.admin_outside), scoped to their centers.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from journey import uploads
from journey.access import Action, get_child_for_action_or_404, get_child_or_404
from journey.views import guardian_required

from . import outside, services
from .forms_outside import OutsideResultForm
from .models_outside import OutsideResult


def file_response(report):
    """The report's file as a private download (journey.uploads.attachment)."""
    day = report.created_at.date().isoformat()
    filename = f"lab-report-{day}.{report.file_type}"
    return uploads.attachment(report.file, report.file_type, filename)


@never_cache
@require_http_methods(["GET", "POST"])
@guardian_required
def new_outside_result(request, public_id):
    child = get_child_for_action_or_404(request.user, public_id, Action.REPORT)
    journey = services.latest_journey(child)
    if journey is None:
        raise Http404
    posted = request.method == "POST"
    form = OutsideResultForm(
        journey, request.POST if posted else None, request.FILES if posted else None
    )
    if posted and form.is_valid():
        data = form.cleaned_data
        outside.submit_outside_result(
            request.guardian,
            journey,
            test=data["test"],
            value=data["value"],
            unit=data["unit"],
            collected_on=data["collected_on"],
            lab_name=data["lab_name"],
            upload=data["upload"] or None,
        )
        return redirect(reverse("portal_tracker:labs", args=[child.public_id]) + "#outside")
    context = {"child": child, "page": "labs", "form": form, "today": timezone.localdate()}
    return render(request, "portal/reports/outside_new.html", context)


@never_cache
@require_GET
@guardian_required
def outside_file(request, public_id, outside_id):
    child = get_child_or_404(request.user, public_id)
    return file_response(get_object_or_404(OutsideResult, patient=child, public_id=outside_id))
