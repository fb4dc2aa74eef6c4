"""The family's "Something is wrong" pages: thin views over reports.services.

The child comes from journey.access.get_child_or_404 (another family's child is a 404); a
report is looked up only among that child's reports.
"""

from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from journey.access import Action, can_act, get_child_or_404
from journey.portal import words
from journey.views import guardian_required

from . import services
from .forms import ReportForm
from .models import SymptomReport


@never_cache
@require_http_methods(["GET", "POST"])
@guardian_required
def new_report(request, public_id):
    child = get_child_or_404(request.user, public_id)
    if not can_act(request.user, child, Action.REPORT):
        return _call_instead(request, child)
    journey = services.latest_journey(child)
    entries = services.sign_entries(journey, timezone.localdate())
    form = ReportForm(entries, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        report = services.submit_report(
            request.guardian,
            child,
            journey,
            form.chosen_entries(),
            form.cleaned_data["text"],
            language=get_language() or "",
        )
        return redirect(
            "portal_reports:sent", public_id=child.public_id, report_id=report.public_id
        )
    context = {"child": child, "page": "report", "form": form}
    return render(request, "portal/reports/new.html", context)


def _call_instead(request, child):
    """A view-only guardian may not send a report (403), but is never left without help: the
    page gives the care team's numbers."""
    context = {
        "child": child,
        "page": "report",
        "main_phone_href": words.tel_href(child.center.main_phone),
        "after_hours_phone_href": words.tel_href(child.center.after_hours_phone),
    }
    return render(request, "portal/reports/view_only.html", context, status=403)


@never_cache
@require_GET
@guardian_required
def report_sent(request, public_id, report_id):
    child = get_child_or_404(request.user, public_id)
    report = get_object_or_404(SymptomReport, patient=child, public_id=report_id)
    context = {
        "child": child,
        "page": "report",
        "report": report,
        "signs": [words.urgent_line(entry) for entry in report.signs],
        "main_phone_href": words.tel_href(child.center.main_phone),
        "after_hours_phone_href": words.tel_href(child.center.after_hours_phone),
    }
    return render(request, "portal/reports/sent.html", context)
