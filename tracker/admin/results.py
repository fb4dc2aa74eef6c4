"""Scheduled labs and lab results in the admin: read-only lists within the user's centers."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from journey.admin.scoping import CenterScopedAdmin

from ..models import LabResult, ScheduledLab, Status
from .common import ReadOnlyAdminMixin, user_today


@admin.register(ScheduledLab)
class ScheduledLabAdmin(ReadOnlyAdminMixin, CenterScopedAdmin):
    center_path = "journey__center"
    list_display = ["due_on", "patient", "item", "window_start", "window_end", "status_label"]
    list_select_related = ["journey__patient", "item"]
    list_filter = ["item__kind", "due_on"]
    search_fields = ["journey__patient__last_name", "journey__patient__first_name"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_status(user_today(request.user))

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
