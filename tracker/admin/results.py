"""Scheduled labs and lab results in the admin: read-only lists within the user's centers."""

import zoneinfo

from django.contrib import admin
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from journey.admin.scoping import CenterScopedAdmin

from ..models import LabResult, ScheduledLab, Status
from . import entry, notes
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
    """Read-only rows; a wrong one is corrected or marked entered in error (tracker.services),
    each with its reason, and the old row stays."""

    center_path = "journey__center"
    list_display = [
        "collected",
        "patient",
        "test",
        "value",
        "unit",
        "flag",
        "x_uln",
        "acknowledge_by",
        "standing",
        "result_actions",
    ]
    list_select_related = ["journey__patient", "journey__center", "test"]
    list_filter = ["flag", "preliminary", "test"]
    search_fields = ["journey__patient__last_name", "journey__patient__first_name"]

    def get_urls(self):
        def view(action):
            def run(request, pk):
                return entry.result_action_view(self, request, pk, action)

            return self.admin_site.admin_view(run)

        return [
            path("<int:pk>/correct/", view("correct"), name="tracker_labresult_correct"),
            path("<int:pk>/error/", view("error"), name="tracker_labresult_error"),
            path(
                "<int:pk>/family-note/",
                self.admin_site.admin_view(lambda r, pk: notes.result_note_view(self, r, pk)),
                name="tracker_labresult_note",
            ),
            path(
                "draw/<uuid:lab_id>/family-note/",
                self.admin_site.admin_view(lambda r, lab_id: notes.draw_note_view(self, r, lab_id)),
                name="tracker_draw_note",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("patient"))
    def patient(self, result):
        return result.journey.patient

    @admin.display(description=_("collected (center's time)"), ordering="collected_at")
    def collected(self, result):
        zone = zoneinfo.ZoneInfo(result.journey.center.time_zone)
        local = timezone.localtime(result.collected_at, zone)
        return f"{local:%Y-%m-%d %H:%M} ({zone.key})"

    @admin.display(description=_("counts"))
    def standing(self, result):
        if result.preliminary:
            if result.entered_in_error_at:
                return _("no: preliminary, cancelled by the lab")
            if result.superseded_at:
                return _("no: preliminary, replaced")
            return _("not yet: preliminary, waiting for the final result")
        if result.entered_in_error_at:
            return _("entered in error")
        if result.superseded_at:
            return _("corrected")
        return _("yes")

    @admin.display(description=_("actions"))
    def result_actions(self, result):
        if not result.is_current:
            return ""
        site = self.admin_site.name
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse(f"{site}:tracker_labresult_correct", args=[result.pk]),
            _("Correct"),
            reverse(f"{site}:tracker_labresult_error", args=[result.pk]),
            _("Entered in error"),
            reverse(f"{site}:tracker_labresult_note", args=[result.pk]),
            _("Note for the family"),
        )
