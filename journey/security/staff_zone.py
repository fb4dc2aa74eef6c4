"""Staff pages show times in their center's time zone, named in the header.

A coordinator at one center (or at several in the same zone) reads every time in that zone; a
superuser or a coordinator across zones reads them in their own zone (User.time_zone). The
centers are read in the same query that journey.access would make for them (one query, no
cache between requests).
"""

import zoneinfo

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from journey.models import Membership
from journey.prepared import Prepared


def _memberships(user_id):
    return Membership.objects.filter(user_id=user_id).values_list("center_id", "center__time_zone")


# Compiled once per process (journey.prepared): read on every admin request.
_MEMBERSHIPS = Prepared(_memberships, user_id=int)


def staff_zone(user):
    """The zone a staff user's pages use; also fills journey.access's centers for the request
    and each center's zone."""
    own = getattr(user, "time_zone", "") or "UTC"
    if not user.is_superuser:
        rows = _MEMBERSHIPS.run(user_id=user.pk)
        user._waypoint_center_ids = {center for center, _zone in rows}
        user._waypoint_center_zones = dict(rows)  # a center's today (tracker's worklist)
        zones = {zone for _center, zone in rows}
        if len(zones) == 1:
            own = zones.pop()
    try:
        return zoneinfo.ZoneInfo(own)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


class StaffTimeZoneMiddleware:
    """Activates the staff zone on the admin's pages (after authentication)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = None

    def __call__(self, request):
        user = request.user
        staff = user.is_authenticated and user.is_active and user.is_staff
        if not (staff and request.path.startswith(self._admin_prefix())):
            return self.get_response(request)
        with timezone.override(staff_zone(user)):
            return self.get_response(request)

    def _admin_prefix(self):
        """The admin's URL prefix ("/admin/"); "\0", which no path starts with, under a URLconf
        without the admin (as some tests use)."""
        if self.prefix is None:
            try:
                self.prefix = reverse("admin:index")
            except NoReverseMatch:
                return "\0"
        return self.prefix
