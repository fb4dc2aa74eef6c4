"""The monitoring plan in the admin: the plan page, result entry and the printable plan.

Thin: every page fetches within the user's centers (404 otherwise), parses a form, calls
tracker.services and renders. The label review page hangs off the plan's URLs too.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from journey import access
from journey.admin.scoping import CenterScopedAdmin, ReadOnlyInline
from journey.portal.words import urgent_lines

from ..models import MonitoringPlan, PlanVersion, ScheduledLab
from . import entry, label_review
from .common import user_today

EMERGENCY_LINE = _(
    "Call 911 (or your local emergency number) right away if your child has trouble "
    "breathing or will not wake up."
)


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
        today = user_today(request.user)
        items = []
        if plan is not None:
            labs = (
                ScheduledLab.objects.with_status(today)
                .select_related("local_lab")
                .order_by("due_on", "sequence")
            )
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
            "urgent": urgent_lines(journey.therapy, request.LANGUAGE_CODE),
            "emergency_line": EMERGENCY_LINE,
            "center": journey.center,
        }

    def label_review_view(self, request, review_id):
        return label_review.label_review_view(self, request, review_id)

    def print_view(self, request, journey_id):
        """One page for the family: dates, what each test is, urgent signs and numbers."""
        journey = self._journey(request, journey_id)
        plan = MonitoringPlan.objects.filter(journey=journey).first()
        context = self._plan_context(request, journey, plan)
        return TemplateResponse(request, "tracker/plan_print.html", context)

    def enter_results_view(self, request, journey_id):
        return entry.enter_results_view(self, request, self._journey(request, journey_id))
