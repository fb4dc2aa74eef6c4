"""Results families sent from other labs: a center-scoped list, the file, and the check.

Nothing here edits what the family sent. "Check" records the result (as sent or corrected)
through reports.outside.verify_outside_result, or rejects it with a reason.
"""

import zoneinfo

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from journey.admin.scoping import CenterScopedAdmin

from . import outside
from .forms_outside import CheckForm, Decision
from .models_outside import OutsideResult, OutsideStatus
from .views_outside import file_response

SHOWN = [
    "patient",
    "guardian",
    "status",
    "test",
    "value",
    "unit",
    "collected_on",
    "lab_name",
    "file_link",
    "file_name",
    "created_at",
    "verified_by",
    "verified_at",
    "verify_note",
    "result",
    "check_link",
]


@admin.register(OutsideResult)
class OutsideResultAdmin(CenterScopedAdmin):
    list_display = ["patient", "sent", "created_at", "status", "verified_by", "verified_at"]
    list_filter = ["status"]
    list_select_related = ["patient", "test", "verified_by"]
    search_fields = ["patient__last_name", "patient__first_name"]
    date_hierarchy = "created_at"
    fields = SHOWN
    readonly_fields = SHOWN

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/file/", wrap(self.file_view), name="reports_outsideresult_file"),
            path(
                "<path:object_id>/check/", wrap(self.check_view), name="reports_outsideresult_check"
            ),
            *super().get_urls(),
        ]

    def file_view(self, request, object_id):
        return file_response(self.get_object(request, object_id))  # 404 outside their centers

    def check_view(self, request, object_id):
        report = self.get_object(request, object_id)
        if not (
            request.user.has_perm("reports.change_outsideresult")
            and request.user.has_perm("tracker.add_labresult")
        ):
            raise PermissionDenied
        form = CheckForm(report.journey, request.POST or None, initial=_initial(report))
        warnings = []
        if request.method == "POST" and form.is_valid():
            warnings = form.warnings()
            if not warnings and _decide(request, report, form):
                return redirect(reverse("admin:reports_outsideresult_change", args=[report.pk]))
        zone = zoneinfo.ZoneInfo(report.center.time_zone)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Check a result from another lab"),
            "report": report,
            "form": form,
            "warnings": warnings,
            "file_url": self._file_url(report),
            "sent_at": timezone.localtime(report.created_at, zone),
        }
        return TemplateResponse(request, "admin/reports/check_outside.html", context)

    def _file_url(self, report):
        if not report.file:
            return ""
        return reverse(f"{self.admin_site.name}:reports_outsideresult_file", args=[report.pk])

    @admin.display(description=_("what was sent"))
    def sent(self, obj):
        typed = f"{obj.test.code} {obj.value} {obj.unit} · {obj.collected_on}" if obj.test else ""
        return " · ".join(x for x in [typed, obj.get_file_type_display()] if x)

    @admin.display(description=_("report file"))
    def file_link(self, obj):
        url = self._file_url(obj)
        return format_html('<a href="{}">{}</a>', url, _("Download")) if url else "-"

    @admin.display(description=_("check"))
    def check_link(self, obj):
        if obj.status != OutsideStatus.PENDING:
            return "-"
        url = reverse(f"{self.admin_site.name}:reports_outsideresult_check", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Check this result"))


def _initial(report):
    return {
        "decision": Decision.VERIFY,
        "test": report.test_id,
        "value": report.value,
        "unit": report.unit,
        "collected_on": report.collected_on,
    }


def _decide(request, report, form):
    """Run the decision; a refusal (already checked, a duplicate) goes back to the form."""
    data = form.cleaned_data
    try:
        if data["decision"] == Decision.REJECT:
            outside.reject_outside_result(report, by=request.user, reason=data["note"])
            messages.success(request, _("Rejected: it does not count."))
            return True
        outside.verify_outside_result(
            report,
            by=request.user,
            test=data["test"],
            value=data["value"],
            unit=data["unit"],
            collected_on=data["collected_on"],
            note=data["note"],
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            form.add_error(None, exc.messages)
        return False
    messages.success(request, _("Recorded: it now counts for flags, rules and charts."))
    return True
