"""What the tracker's admin modules share: the user's today and read-only admins."""

import zoneinfo

from django.utils import timezone


def user_today(user):
    """Today in the user's own time zone (UTC when they have none)."""
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(getattr(user, "time_zone", "UTC")))


class ReadOnlyAdminMixin:
    """No add/change/delete: these rows change only through tracker.services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
