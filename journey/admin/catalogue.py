"""The therapy catalogue: coordinators read it, administrators (superusers) edit it."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from journey.models import Condition, EligibilityCriterion, FindingType, StepTemplate, Therapy

from .scoping import SuperuserEditsMixin


class CriterionInline(SuperuserEditsMixin, admin.TabularInline):
    model = EligibilityCriterion
    fields = [
        "position",
        "code",
        "kind",
        "label",
        "params",
        "validity_days",
        "retest_after_days",
        "postpone_only",
        "verified",
        "source",
        "origin",
        "origin_note",
    ]
    extra = 0


@admin.register(Therapy)
class TherapyAdmin(SuperuserEditsMixin, admin.ModelAdmin):
    list_display = ["name", "generic_name", "market_status", "label_as_of", "verification"]
    list_filter = ["market_status", "delivery", "vector_type", "verified", "conditions"]
    search_fields = ["name", "generic_name", "slug"]
    filter_horizontal = ["conditions"]
    readonly_fields = ["label_changes"]
    inlines = [CriterionInline]

    @admin.display(description=_("verified"))
    def verification(self, therapy):
        return _("Yes") if therapy.verified else _("⚠ Needs checking")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        therapy = self.get_object(request, object_id)
        if therapy is not None and not therapy.verified:
            note = therapy.unverified_note or _("Some label facts still need checking.")
            messages.warning(request, _("Not verified: %(note)s") % {"note": note})
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET" and Therapy.objects.filter(verified=False).exists():
            messages.warning(
                request, _("Some therapies are not verified yet: check their label facts.")
            )
        return super().changelist_view(request, extra_context)


@admin.register(Condition)
class ConditionAdmin(SuperuserEditsMixin, admin.ModelAdmin):
    list_display = ["name", "code", "genes"]
    search_fields = ["name", "code", "genes"]


@admin.register(FindingType)
class FindingTypeAdmin(SuperuserEditsMixin, admin.ModelAdmin):
    list_display = ["name", "code", "value_type", "unit", "validity_days"]
    list_filter = ["value_type"]
    search_fields = ["name", "code"]


@admin.register(StepTemplate)
class StepTemplateAdmin(SuperuserEditsMixin, admin.ModelAdmin):
    list_display = ["title", "stage", "responsible", "required", "due_after_days", "position"]
    list_filter = ["stage", "responsible", "required"]
    search_fields = ["title", "code"]
    filter_horizontal = ["therapies"]
