"""The coordinators' list of family reports: scoped to their centers, answered with one action."""

from django.contrib import admin, messages
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext_lazy as _

from journey.admin.scoping import CenterScopedAdmin
from journey.portal.words import urgent_line

from . import services
from .models import Status, SymptomReport

SHOWN = [
    "patient",
    "guardian",
    "urgent",
    "signs_ticked",
    "text",
    "created_at",
    "respond_by",
    "status",
    "answered_by",
    "answered_at",
    "answer_note",
]


@admin.register(SymptomReport)
class SymptomReportAdmin(CenterScopedAdmin):
    """Open and answered reports: who answered and when. Nothing here edits what a family sent."""

    list_display = [
        "patient",
        "urgent",
        "created_at",
        "respond_by",
        "status",
        "answered_by",
        "answered_at",
    ]
    list_filter = ["status", "urgent"]
    list_select_related = ["patient", "answered_by"]
    search_fields = ["patient__last_name", "patient__first_name"]
    date_hierarchy = "created_at"
    fields = SHOWN
    actions = ["mark_answered"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        """Only the care team's note, and only while the report is open: saving answers it."""
        if obj is not None and obj.status == Status.OPEN:
            return [name for name in SHOWN if name != "answer_note"]
        return SHOWN

    def save_model(self, request, obj, form, change):
        services.answer_report(obj, request.user, form.cleaned_data.get("answer_note", ""))

    @admin.display(description=_("urgent signs"))
    def signs_ticked(self, obj):
        return "; ".join(urgent_line(entry, get_language()) for entry in obj.signs) or "-"

    @admin.action(description=_("Mark as answered (I spoke with the family)"))
    def mark_answered(self, request, queryset):
        done = sum(services.answer_report(report, request.user) for report in queryset)
        text = ngettext("%(n)d report marked answered.", "%(n)d reports marked answered.", done)
        self.message_user(request, text % {"n": done}, messages.SUCCESS)


from .admin_outside import OutsideResultAdmin  # noqa: E402, F401
