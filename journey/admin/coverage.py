"""Insurance and access on the journey page: payer, prior authorizations, arrangements, travel.

The rows are plain records the coordinator keeps; the rule that reads them (does an approval
cover the infusion?) is journey.coverage, asked by move_stage. Appeals hang off an
authorization: they are kept on the authorization's own page (linked from the journey).
"""

from django.contrib import admin

from journey.models import (
    AccessArrangement,
    Appeal,
    InsuranceCoverage,
    PriorAuthorization,
    TravelSupport,
)

from .scoping import CenterScopedAdmin, ScopedTabularInline


class InsuranceCoverageInline(ScopedTabularInline):
    classes = ["collapse"]  # folded under the stage and checklist
    model = InsuranceCoverage
    fields = ["payer", "plan", "member_id", "is_primary"]
    extra = 0


class PriorAuthorizationInline(ScopedTabularInline):
    classes = ["collapse"]  # folded under the stage and checklist
    model = PriorAuthorization
    fields = [
        "coverage",
        "status",
        "submitted_on",
        "decision_on",
        "approval_number",
        "approved_until",
        "units",
        "note",
    ]
    extra = 0
    show_change_link = True  # its page holds the appeals

    def get_formset(self, request, obj=None, **kwargs):
        """The insurance offered is this journey's own, never another family's."""
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields.get("coverage")
        if field is not None:
            coverages = InsuranceCoverage.objects.filter(journey=obj) if obj else None
            field.queryset = coverages if coverages is not None else field.queryset.none()
        return formset

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("coverage")


class AccessArrangementInline(ScopedTabularInline):
    classes = ["collapse"]  # folded under the stage and checklist
    model = AccessArrangement
    fields = ["kind", "counterparty", "reference", "starts_on", "ends_on", "note"]
    extra = 0


class TravelSupportInline(ScopedTabularInline):
    classes = ["collapse"]  # folded under the stage and checklist
    model = TravelSupport
    fields = ["funder", "starts_on", "ends_on", "lodging", "note"]
    extra = 0


COVERAGE_INLINES = [
    InsuranceCoverageInline,
    PriorAuthorizationInline,
    AccessArrangementInline,
    TravelSupportInline,
]


class AppealInline(ScopedTabularInline):
    model = Appeal
    fields = ["level", "filed_on", "decided_on", "outcome", "note"]
    extra = 0


@admin.register(PriorAuthorization)
class PriorAuthorizationAdmin(CenterScopedAdmin):
    """One authorization and its appeals; reached from its journey's page."""

    center_path = "journey__patient__center"
    list_display = ["journey", "status", "approval_number", "decision_on", "approved_until"]
    list_select_related = ["journey__patient", "journey__therapy"]
    list_filter = ["status"]
    fields = [
        "journey",
        "status",
        "submitted_on",
        "decision_on",
        "approval_number",
        "approved_until",
        "units",
        "note",
    ]
    readonly_fields = ["journey"]
    inlines = [AppealInline]

    def has_add_permission(self, request):
        return False  # added on the journey's page, where the journey is known

    def has_delete_permission(self, request, obj=None):
        """An authorization is withdrawn, not deleted: appeals and reminders hang off it."""
        return request.user.is_superuser and super().has_delete_permission(request, obj)
