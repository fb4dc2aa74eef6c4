"""Dates and words in the logged-in guardian's time zone and language."""

import zoneinfo

from django.utils import timezone, translation

from journey.models import Guardian, User


def guardian_for(user):
    """The Guardian row linked to a login, or None (staff, anonymous, not linked).

    The login backend reads it with the user (one query a request, never cached)."""
    if not user.is_authenticated or user.is_staff:
        return None
    if User.guardian.is_cached(user):
        return getattr(user, "guardian", None)
    return Guardian.objects.filter(user=user).select_related("center").first()


class GuardianLocaleMiddleware:
    """Sets request.guardian and, for a guardian, activates their time zone and language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        guardian = request.guardian = guardian_for(request.user)
        if guardian is None:
            return self.get_response(request)
        try:
            zone = zoneinfo.ZoneInfo(guardian.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = timezone.get_default_timezone()
        with timezone.override(zone), translation.override(guardian.language):
            request.LANGUAGE_CODE = guardian.language
            response = self.get_response(request)
        response.headers["Content-Language"] = guardian.language
        return response
