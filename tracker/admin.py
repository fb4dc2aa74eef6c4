"""The tracker in the admin: the plan page, result entry, the printable plan and the worklist.

Thin: every page fetches within the user's centers (404 otherwise), parses a form, calls
tracker.services and renders. Lab catalogue rows are edited by administrators only.
"""

import zoneinfo
from dataclasses import dataclass

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from journey import access
from journey.admin.scoping import CenterScopedAdmin, ReadOnlyInline

from . import admin_review, export, services
from .forms import EnterResultsForm, ReasonForm
from .models import (
    LabResult,
    LabTest,
    LabUnit,
    MonitoringPlan,
    PlanItem,
    PlanVersion,
    ReferenceRange,
    ScheduledLab,
    Status,
    Worklist,
)
from .services import worklist

EMERGENCY_LINE = _(
    "Call 911 (or your local emergency number) right away if your child has trouble "
    "breathing or will not wake up."
)


class AdminOnlyEditsMixin:
    """Catalogue data: coordinators read it, administrators correct it."""

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class LabUnitInline(AdminOnlyEditsMixin, admin.TabularInline):
    model = LabUnit
    extra = 0


class ReferenceRangeInline(AdminOnlyEditsMixin, admin.TabularInline):
    model = ReferenceRange
    extra = 0


@admin.register(LabTest)
class LabTestAdmin(AdminOnlyEditsMixin, admin.ModelAdmin):
    list_display = ["code", "name", "family_name", "loinc", "unit", "as_of"]
    inlines = [LabUnitInline, ReferenceRangeInline]


def _user_today(user):
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(getattr(user, "time_zone", "UTC")))


class ReadOnlyAdminMixin:
    """No add/change/delete: these rows change only through tracker.services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ScheduledLab)
class ScheduledLabAdmin(ReadOnlyAdminMixin, CenterScopedAdmin):
    center_path = "journey__center"
    list_display = ["due_on", "patient", "item", "window_start", "window_end", "status_label"]
    list_select_related = ["journey__patient", "item"]
    list_filter = ["item__kind", "due_on"]
    search_fields = ["journey__patient__last_name", "journey__patient__first_name"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_status(_user_today(request.user))

    @admin.display(description=_("patient"))
    def patient(self, lab):
        return lab.journey.patient

    @admin.display(description=_("status"), ordering="status")
    def status_label(self, lab):
        return Status(lab.status).label


@admin.register(LabResult)
class LabResultAdmin(ReadOnlyAdminMixin, CenterScopedAdmin):
    center_path = "journey__center"
    list_display = ["collected_at", "patient", "test", "value", "unit", "flag", "x_uln"]
    list_select_related = ["journey__patient", "test"]
    list_filter = ["flag", "test"]
    search_fields = ["journey__patient__last_name", "journey__patient__first_name"]

    @admin.display(description=_("patient"))
    def patient(self, result):
        return result.journey.patient


class PlanVersionInline(ReadOnlyInline):
    model = PlanVersion
    fields = ["number", "created_at", "created_by", "infusion_date", "reason", "changes"]
    readonly_fields = fields


@admin.register(MonitoringPlan)
class MonitoringPlanAdmin(CenterScopedAdmin):
    center_path = "journey__center"
    list_display = ["journey", "therapy", "created_at"]
    list_select_related = ["journey__patient", "therapy"]
    search_fields = ["journey__patient__last_name", "journey__patient__first_name"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        def view(function):
            return self.admin_site.admin_view(function)

        return [
            path(
                "journey/<int:journey_id>/results/",
                view(self.enter_results_view),
                name="tracker_enter_results",
            ),
            path(
                "journey/<int:journey_id>/print/",
                view(self.print_view),
                name="tracker_plan_print",
            ),
            path(
                "label-review/<int:review_id>/",
                view(self.label_review_view),
                name="tracker_label_review",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The plan page: read-only, with its dates, statuses, history and urgent signs."""
        plan = self.get_object(request, object_id)
        if not self.has_view_permission(request, plan):
            raise PermissionDenied
        context = self._plan_context(request, plan.journey, plan)
        context["versions"] = plan.versions.select_related("created_by")
        return TemplateResponse(request, "admin/tracker/plan.html", context)

    def _journey(self, request, journey_id):
        queryset = access.journeys_for_staff(request.user).select_related(
            "patient", "center", "therapy"
        )
        return get_object_or_404(queryset, pk=journey_id)

    def _plan_context(self, request, journey, plan):
        today = _user_today(request.user)
        items = []
        if plan is not None:
            labs = ScheduledLab.objects.with_status(today).order_by("due_on", "sequence")
            items = plan.items.filter(removed_at__isnull=True).prefetch_related(
                Prefetch("scheduled", queryset=labs)
            )
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Monitoring plan: %(patient)s") % {"patient": journey.patient},
            "journey": journey,
            "plan": plan,
            "items": items,
            "today": today,
            "urgent": _urgent_lines(journey.therapy, request.LANGUAGE_CODE),
            "emergency_line": EMERGENCY_LINE,
            "center": journey.center,
        }

    def label_review_view(self, request, review_id):
        return admin_review.label_review_view(self, request, review_id)

    def print_view(self, request, journey_id):
        """One page for the family: dates, what each test is, urgent signs and numbers."""
        journey = self._journey(request, journey_id)
        plan = MonitoringPlan.objects.filter(journey=journey).first()
        context = self._plan_context(request, journey, plan)
        return TemplateResponse(request, "tracker/plan_print.html", context)

    def enter_results_view(self, request, journey_id):
        journey = self._journey(request, journey_id)
        if not request.user.has_perm("tracker.add_labresult"):
            raise PermissionDenied
        plan = MonitoringPlan.objects.filter(journey=journey).first()
        tests = _plan_tests(plan)
        form = EnterResultsForm(request.POST or None, tests=tests, zone=journey.center.time_zone)
        if request.method == "POST" and form.is_valid():
            try:
                results = services.record_results(
                    journey, form.cleaned_data["collected_at"], form.rows(), by=request.user
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("%(n)d results saved.") % {"n": len(results)})
                return redirect(_after_entry_url(journey, plan, self.admin_site.name))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Enter results: %(patient)s") % {"patient": journey.patient},
            "journey": journey,
            "plan": plan,
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/tracker/enter_results.html", context)


def _plan_tests(plan):
    tests = LabTest.objects.prefetch_related("units")
    if plan is None:
        return tests
    codes = {code for item in plan.items.all() for code in item.tests}
    return tests.filter(code__in=codes) if codes else tests


def _after_entry_url(journey, plan, site_name):
    if plan is not None:
        return reverse(f"{site_name}:tracker_monitoringplan_change", args=[plan.pk])
    return reverse(f"{site_name}:tracker_enter_results", args=[journey.pk])


def _urgent_lines(therapy, language):
    """The therapy's "call now" signs in the user's language, English when missing."""
    lines = therapy.urgent_symptoms if therapy else []
    return [line.get(language) or line.get("en", "") for line in lines]


@admin.register(Worklist)
class WorklistAdmin(ScheduledLabAdmin):
    """The coordinator's worklist; its "list" page is the worklist itself."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("tracker.view_scheduledlab")

    def get_urls(self):
        csv_view = self.admin_site.admin_view(self.csv_view)
        return [path("csv/", csv_view, name="tracker_worklist_csv"), *super().get_urls()]

    def csv_view(self, request):
        """The worklist as one CSV (tracker.export), scoped like the page."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = _user_today(request.user)
        body = export.worklist_csv(request.user, today)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        filename = f"worklist-{today.isoformat()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "private, no-store"
        return response

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self._act(request)
        return TemplateResponse(request, "admin/tracker/worklist.html", self._context(request))

    def _context(self, request):
        """Every section's count and one page of its rows (?<section key>=<page> or =all)."""
        user, today = request.user, _user_today(request.user)
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Worklist"),
            "is_nav_sidebar_enabled": False,  # no app list to build: the lists need the width
            **self._lists_context(user, today, request.GET),
        }

    def _lists_context(self, user, today, query):
        pages = [
            worklist.section_page(section, worklist.page_number(query.get(section.key)))
            for section in worklist.sections(user, today)
        ]
        return {
            "today": today,
            "sections": _with_links(pages),
            "per_page": worklist.PER_PAGE,
            "patient_link": _patient_link(self.admin_site.name),
        }

    def _act(self, request):
        """POST: mark a result reviewed, a lab missed, or close an extension (with a note)."""
        form = ReasonForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Write a note before saving."))
            return redirect(request.get_full_path())
        data, user = form.cleaned_data, request.user
        try:
            _WORKLIST_ACTIONS[data["action"]](user, data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Saved."))
        return redirect(request.get_full_path())


def _patient_link(site_name):
    """A patient page's URL before and after its id, reversed once: rows write the id between
    (reverse() on each of a hundred rows costs ~5 ms)."""
    marker = "999999999"
    before, after = reverse(f"{site_name}:journey_patient_change", args=[marker]).split(marker)
    return before, after


def _with_links(pages):
    """Each page with the links of its pager; the other sections keep the page they show."""
    shown = {p.key: worklist.ALL if p.shows_all else str(p.number) for p in pages if p.number != 1}

    def link(page, number):
        query = QueryDict(mutable=True)
        query.update({key: value for key, value in shown.items() if key != page.key})
        if number != 1:
            query[page.key] = worklist.ALL if number == 0 else str(number)
        return f"?{query.urlencode()}#{page.key}"

    return [
        WorklistPage(
            page,
            previous_url=link(page, page.number - 1) if page.has_previous else "",
            next_url=link(page, page.number + 1) if page.has_next else "",
            all_url=link(page, 0),
            first_url=link(page, 1),
        )
        for page in pages
    ]


@dataclass(frozen=True)
class WorklistPage:
    """A section's page as the template shows it: the rows, the total and the pager links."""

    page: worklist.SectionPage
    previous_url: str
    next_url: str
    all_url: str
    first_url: str


def _review(user, data):
    queryset = access.scope_to_centers(LabResult.objects.all(), user, "journey__center")
    result = get_object_or_404(queryset, public_id=data["target"])
    services.review_result(result, by=user, note=data["note"])


def _missed(user, data):
    queryset = access.scope_to_centers(ScheduledLab.objects.all(), user, "journey__center")
    lab = get_object_or_404(queryset, public_id=data["target"])
    services.mark_missed(lab, by=user, reason=data["note"])


def _close_extension(user, data):
    queryset = access.scope_to_centers(PlanItem.objects.all(), user, "plan__journey__center")
    item = get_object_or_404(queryset, pk=data["item"])
    services.close_extension(item, by=user, reason=data["note"])


_WORKLIST_ACTIONS = {"review": _review, "missed": _missed, "close_extension": _close_extension}
