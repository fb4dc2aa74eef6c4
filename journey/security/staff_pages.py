"""Pages that staff see outside the admin's own views (second factor, lockout, too many
requests) wear the admin's look and its staff header; a family's stay in the portal's."""

from django.contrib import admin
from django.urls import reverse

STAFF_BASE = "two_factor/base_admin.html"
FAMILY_BASE = "portal/base.html"


def is_staff_page(request):
    """A staff login, or a request to the admin (a lockout at the admin's login page)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    return request.path.startswith(reverse("admin:index"))


def page_context(request):
    """The base template to extend, and for staff what the admin header needs."""
    if not is_staff_page(request):
        return {"base_template": FAMILY_BASE, "staff_page": False}
    return {**admin.site.each_context(request), "base_template": STAFF_BASE, "staff_page": True}
