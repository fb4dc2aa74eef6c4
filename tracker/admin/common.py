"""What the tracker's admin modules share: the user's today and read-only admins."""

import zoneinfo

from django.utils import timezone

from journey.admin.scoping import only_center
from journey.models import Center


def user_today(user):
    """Today in the user's own time zone (UTC when they have none)."""
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(getattr(user, "time_zone", "UTC")))


def center_today(user):
    """Today at the user's center, when they work at exactly one (the day their patients'
    labs fall due and overdue); otherwise in the user's own zone."""
    center = only_center(user)
    zone = center and _center_zone(user, center)
    if not zone:
        return user_today(user)
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(zone))


def _center_zone(user, center):
    """The center's zone, as the staff zone middleware read it with the user's centers in
    this request (journey.security.staff_zone), else from the database."""
    zone = getattr(user, "_waypoint_center_zones", {}).get(center)
    return zone or Center.objects.filter(pk=center).values_list("time_zone", flat=True).first()


class ReadOnlyAdminMixin:
    """No add/change/delete: these rows change only through tracker.services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
