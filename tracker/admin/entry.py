"""Result entry and result corrections in the admin: thin views over tracker.services.

Every page fetches within the user's centers (404 otherwise), renders in the center's time
zone (so the admin's "Today" and "Now" are the center's) and saves through one service call,
which is one transaction: a request never saves and then fails.
"""

import datetime as dt
import zoneinfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from journey import access

from .. import services
from ..forms import CorrectResultForm, EnteredInErrorForm, EnterResultsForm
from ..models import LabResult, LabTest, MonitoringPlan


def _due_day(text):
    """The worklist's ?due=YYYY-MM-DD, or None for anything else (never an error)."""
    try:
        return dt.date.fromisoformat(text) if text and len(text) == 10 else None
    except ValueError:
        return None


def _plan_tests(plan, codes=()):
    tests = LabTest.objects.prefetch_related("units", "ranges")
    if codes:
        return sorted(tests.filter(code__in=codes), key=lambda t: codes.index(t.code))
    if plan is None:
        return list(tests)
    codes = {code for item in plan.items.filter(removed_at__isnull=True) for code in item.tests}
    return list(tests.filter(code__in=codes) if codes else tests)


def _render(request, template, context, zone):
    """Render now, in the center's zone: {% now %} feeds the admin's Today/Now shortcuts."""
    with timezone.override(zone):
        response = TemplateResponse(request, template, context)
        response.render()
    return response


def _saved_text(results, collected_at, zone):
    local = timezone.localtime(collected_at, zone)
    rows = ", ".join(
        f"{r.test.code} {r.value_entered} {r.unit_entered} ({r.get_flag_display()})"
        for r in results
    )
    return _("Saved for %(when)s (%(zone)s): %(rows)s.") % {
        "when": local.strftime("%Y-%m-%d %H:%M"),
        "zone": zone.key,
        "rows": rows,
    }


def enter_results_view(model_admin, request, journey):
    """One collection's results; from a worklist draw (?due=) with its tests and day."""
    if not request.user.has_perm("tracker.add_labresult"):
        raise PermissionDenied
    zone, now = zoneinfo.ZoneInfo(journey.center.time_zone), timezone.now()
    today = now.astimezone(zone).date()
    plan = MonitoringPlan.objects.filter(journey=journey).first()
    due = _due_day(request.GET.get("due"))
    codes = services.draw_tests(journey, due) if due else []
    tests = _plan_tests(plan, codes)
    initial = {"collected_on": min(due, today) if codes else today}
    form = EnterResultsForm(
        request.POST or None,
        tests=tests,
        zone=zone.key,
        born=journey.patient.date_of_birth,
        now=now,
        initial=initial,
    )
    state = {"warnings": {}, "earlier": {}}
    if request.method == "POST" and form.is_valid():
        saved = _save(request, journey, form, state)
        if saved is not None:
            messages.success(request, _saved_text(saved, form.cleaned_data["collected_at"], zone))
            return redirect(_after_entry_url(journey, plan, model_admin.admin_site.name))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Enter results: %(patient)s") % {"patient": journey.patient},
        "journey": journey,
        "plan": plan,
        "form": form,
        "due": due if codes else None,
        "help": services.entry_help(journey, tests, today),
        "zone": zone.key,
        "media": model_admin.media + form.media,
        **state,
    }
    return _render(request, "admin/tracker/enter_results.html", context, zone)


def _save(request, journey, form, state):
    """Ask about same-time results and values to confirm, else save; None when not saved."""
    collected_at, rows = form.cleaned_data["collected_at"], form.rows()
    state["earlier"] = services.same_time_results(journey, collected_at, [r[0] for r in rows])
    corrections = form.check_duplicates(state["earlier"])
    if form.errors:
        return None
    state["warnings"] = services.entry_warnings(journey, collected_at, rows)
    token = services.confirm_token(collected_at, rows, state["warnings"])
    if state["warnings"] and form.cleaned_data.get("confirm") != token:
        form.ask_to_confirm(token)
        return None
    try:
        return services.record_results(
            journey, collected_at, rows, by=request.user, corrections=corrections
        )
    except ValidationError as exc:
        form.add_service_errors(exc)
        return None


def _after_entry_url(journey, plan, site_name):
    if plan is not None:
        return reverse(f"{site_name}:tracker_monitoringplan_change", args=[plan.pk])
    return reverse(f"{site_name}:tracker_enter_results", args=[journey.pk])


# ---------------------------------------------------------------- one result's actions


def staff_result(request, pk):
    """The result within the user's centers, or 404; acting on it needs the change right."""
    journeys = access.journeys_for_staff(request.user)
    queryset = LabResult.objects.filter(journey__in=journeys).select_related(
        "test", "journey__patient", "journey__center"
    )
    result = get_object_or_404(queryset, pk=pk)
    if not request.user.has_perm("tracker.change_labresult"):
        raise PermissionDenied
    return result


def result_action_view(model_admin, request, pk, action):
    """ "correct" (a new value supersedes it) or "error" (entered in error: it stops counting)."""
    result = staff_result(request, pk)
    zone = zoneinfo.ZoneInfo(result.journey.center.time_zone)
    if action == "correct":
        form = CorrectResultForm(request.POST or None, result=result)
        title = _("Correct a result")
    else:
        form = EnteredInErrorForm(request.POST or None)
        title = _("Mark a result entered in error")
    warnings = {}
    if request.method == "POST" and form.is_valid():
        warnings = _correction_warnings(result, form) if action == "correct" else {}
    if (
        request.method == "POST"
        and not warnings
        and form.is_valid()
        and _act(request, result, form, action)
    ):
        url = reverse(
            f"{model_admin.admin_site.name}:tracker_enter_results", args=[result.journey_id]
        )
        return redirect(url)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "result": result,
        "collected": timezone.localtime(result.collected_at, zone),
        "zone": zone.key,
        "form": form,
        "action": action,
        "warnings": [line for lines in warnings.values() for line in lines],
    }
    return _render(request, "admin/tracker/result_action.html", context, zone)


def _correction_warnings(result, form):
    """A corrected value that looks like a unit slip or is critical asks to confirm too."""
    rows = [(result.test.code, form.cleaned_data["value"], form.cleaned_data["unit"])]
    warnings = services.entry_warnings(result.journey, result.collected_at, rows)
    token = services.confirm_token(result.collected_at, rows, warnings)
    if warnings and form.cleaned_data.get("confirm") != token:
        form.ask_to_confirm(token)
        return warnings
    return {}


def _act(request, result, form, action):
    data = form.cleaned_data
    try:
        if action == "correct":
            new = services.correct_result(
                result, data["value"], data["unit"], by=request.user, reason=data["reason"]
            )
            text = _("%(test)s corrected: %(old)s %(old_unit)s is now %(new)s %(unit)s.") % {
                "test": result.test.code,
                "old": result.value_entered,
                "old_unit": result.unit_entered,
                "new": new.value_entered,
                "unit": new.unit_entered,
            }
        else:
            services.mark_entered_in_error(result, by=request.user, reason=data["reason"])
            text = _("%(test)s %(value)s %(unit)s marked entered in error: it no longer counts.")
            text %= {
                "test": result.test.code,
                "value": result.value_entered,
                "unit": result.unit_entered,
            }
    except ValidationError as exc:
        for key, errors in exc.message_dict.items():
            form.add_error("reason" if key == "reason" else None, errors)
        return False
    messages.success(request, text)
    return True
