"""Text-message numbers and their history in the admin: read only, scoped to the user's centers.

A number changes only through notifications.sms.numbers (the guardian's code, STOP/START/HELP,
the provider's answer); the care team looks here when a family says "I get no texts". The
confirmation code's hash and its counters are never shown.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from journey import access
from journey.admin.scoping import CenterScopedAdmin

from .models import NumberEvent, TextNumber


class ReadOnlyGuardianScopedAdmin(CenterScopedAdmin):
    """Rows of guardians of the user's centers (journey.access); another center's: 404."""

    def scope(self, request, queryset):
        return queryset.filter(guardian__in=access.guardians_for_staff(request.user).values("pk"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TextNumber)
class TextNumberAdmin(ReadOnlyGuardianScopedAdmin):
    list_display = ["guardian", "number", "status", "confirmed_at", "status_changed_at"]
    list_filter = ["status"]
    list_select_related = ["guardian"]
    search_fields = ["guardian__full_name", "guardian__email", "number"]
    fields = ["guardian", "number", "status", "confirmed_at", "status_changed_at",
              "last_error", "history"]  # fmt: skip
    readonly_fields = fields

    @admin.display(description=_("history"))
    def history(self, obj):
        url = reverse("admin:notifications_numberevent_changelist")
        return format_html(
            '<a href="{}?guardian__id__exact={}">{}</a>', url, obj.guardian_id, _("All events")
        )


@admin.register(NumberEvent)
class NumberEventAdmin(ReadOnlyGuardianScopedAdmin):
    list_display = ["at", "guardian", "number", "event", "detail"]
    list_filter = ["event"]
    list_select_related = ["guardian"]
    search_fields = ["guardian__full_name", "guardian__email", "number"]
    date_hierarchy = "at"
    ordering = ["-at", "-pk"]
