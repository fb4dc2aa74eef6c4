"""The family portal's tracker pages: the plan, the labs, the calendar link and its feed.

Thin views: the child comes through tracker.portal.queries.child_for_guardian or, with its
journey, child_and_journey (both ask journey.access), the contents from tracker.portal.pages.
Another family's child is a 404.
"""

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from journey import access

from . import calendar, fhir
from .portal import extras, pages, queries
from .portal import labs as labs_page


def _plan_context(request, public_id):
    child, journey = queries.child_and_journey(request.user, public_id, with_plan=True)
    context = pages.plan_context(child, journey, timezone.localdate())
    context.update(page="plan", printed_on=timezone.localdate())
    return context


@require_GET
@login_required
def plan(request, public_id):
    return render(request, "portal/tracker/plan.html", _plan_context(request, public_id))


def _labs_context(request, public_id):
    child, journey = queries.child_and_journey(request.user, public_id)
    context = labs_page.labs_context(child, journey, timezone.localdate())
    context["page"] = "labs"
    context["extra_blocks"] = extras.labs_blocks(child, journey)
    return context


@require_GET
@login_required
def labs(request, public_id):
    return render(request, "portal/tracker/labs.html", _labs_context(request, public_id))


@never_cache
@require_GET
@login_required
def calendar_link(request, public_id):
    child = queries.child_for_guardian(request.user, public_id)
    feed = calendar.active_feed(queries.guardian_of(request), child)
    url = request.build_absolute_uri(calendar.feed_path(feed)) if feed else ""
    context = {
        "page": "calendar",
        "child": child,
        "feed": feed,
        "feed_url": url,
        "webcal_url": url.replace("https://", "webcal://", 1).replace("http://", "webcal://", 1),
        "lead_days": calendar.REMINDER_LEAD_DAYS,
        "reminder_hour": calendar.REMINDER_HOUR,
    }
    return render(request, "portal/tracker/calendar.html", context)


@require_POST
@login_required
def calendar_new(request, public_id):
    child = queries.child_for_guardian(request.user, public_id)
    access.require_action(request.user, child, access.Action.CHANGE_SETTINGS)
    calendar.new_feed(queries.guardian_of(request), child)
    return redirect("portal_tracker:calendar", public_id=child.public_id)


@require_POST
@login_required
def calendar_revoke(request, public_id):
    child = queries.child_for_guardian(request.user, public_id)
    calendar.revoke_feeds(queries.guardian_of(request), child)
    return redirect("portal_tracker:calendar", public_id=child.public_id)


@require_GET
def feed(request, token):
    """The .ics itself: no login (calendar apps cannot log in); the token is the key."""
    feed = calendar.feed_for_token(token)
    if feed is None:
        raise Http404
    child = feed.patient
    link = request.build_absolute_uri(
        reverse("portal_tracker:labs", kwargs={"public_id": child.public_id})
    )
    with translation.override(feed.guardian.language):
        body = calendar.build_calendar(
            child,
            calendar.feed_dates(child),
            link=link,
            domain=request.get_host().split(":")[0] or "waypoint",
        )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="care-dates.ics"'
    # Cache-Control: private, no-store, as on every portal page (journey.security.headers).
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@require_GET
@login_required
def record(request, public_id):
    """The child's whole record on one printable page, with the FHIR download link."""
    child = queries.child_for_guardian(request.user, public_id)
    context = fhir.print_context(fhir.load_record(child, timezone.localdate()))
    context["page"] = "record"
    return render(request, "portal/tracker/record_print.html", context)


@never_cache
@require_GET
@login_required
def record_fhir(request, public_id):
    """The same record as a FHIR R4 bundle (JSON), downloaded as a file."""
    child = queries.child_for_guardian(request.user, public_id)
    record = fhir.load_record(child, timezone.localdate())
    body = json.dumps(fhir.build_bundle(record), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/fhir+json; charset=utf-8")
    name = slugify(child.first_name) or "child"
    filename = f"{name}-record-{record.today.isoformat()}.fhir.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Robots-Tag"] = "noindex"
    return response
