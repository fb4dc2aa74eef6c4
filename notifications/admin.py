"""The reminders console: the outbox as a read-only delivery log, scoped to the user's centers."""

from django.contrib import admin
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from journey import access
from journey.admin.scoping import CenterScopedAdmin, ReadOnlyInline

from . import services
from .models import CenterNotificationSettings, DeliveryAttempt, Preference, Reminder


class AttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = ["attempted_at", "completed_at", "to_email", "outcome", "smtp_code", "error",
              "message_id", "worker", "resend_of"]  # fmt: skip
    readonly_fields = fields


@admin.register(Reminder)
class ReminderAdmin(CenterScopedAdmin):
    """Past sends with their outcome and pending ones with when they will go."""

    list_display = ["kind", "recipient_email", "patient", "local_send_at", "status", "attempts"]
    list_filter = ["status", "kind"]
    list_select_related = ["guardian", "user", "patient"]
    search_fields = ["guardian__email", "user__email", "patient__last_name"]
    date_hierarchy = "send_at"
    inlines = [AttemptInline]
    exclude = ["lease_token"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("sends at (recipient's time)"), ordering="send_at")
    def local_send_at(self, obj):
        from zoneinfo import ZoneInfo

        local = obj.send_at.astimezone(ZoneInfo(obj.time_zone))
        return f"{local:%Y-%m-%d %H:%M} {obj.time_zone}"

    def get_urls(self):
        log = self.admin_site.admin_view(self.delivery_log_view)
        return [
            path("patient/<uuid:public_id>/", log, name="notifications_delivery_log")
        ] + super().get_urls()

    def delivery_log_view(self, request, public_id):
        """One child's delivery log; 404 for a child of another center."""
        patient = get_object_or_404(access.patients_for_staff(request.user), public_id=public_id)
        rows = list(services.delivery_log(patient))
        now = timezone.now()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reminders for %(patient)s") % {"patient": patient},
            "patient": patient,
            "upcoming": [r for r in rows if r.status == "pending" and r.send_at >= now][::-1],
            "past": [r for r in rows if not (r.status == "pending" and r.send_at >= now)],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/notifications/delivery_log.html", context)


@admin.register(Preference)
class PreferenceAdmin(CenterScopedAdmin):
    center_path = "patient__center"
    list_display = ["guardian", "patient", "lead_days", "local_hour", "minimal", "snoozed_until"]
    list_select_related = ["guardian", "patient"]
    autocomplete_fields = []


@admin.register(CenterNotificationSettings)
class CenterNotificationSettingsAdmin(CenterScopedAdmin):
    list_display = ["center", "minimal"]


from .sms import admin as sms_admin  # noqa: E402, F401 (registers the text-number pages)
