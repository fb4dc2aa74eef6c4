"""The admin answers only to staff who passed the second factor in this session.

A staff user who logged in with a password but has not entered a code is sent to the
two-factor page (set-up first when they have no device yet), then back where they were going.
Permissions and centers are read from the database on every request (the login backend,
journey.security.backends, and journey.access): nothing about who may see what is cached
between requests.
"""

from collections.abc import Sequence
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.shortcuts import redirect
from django.urls import reverse


def is_verified(user):
    """True once django-otp's middleware has seen a device confirmed in this session."""
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def staff_home():
    """Where staff land after login: the worklist (settings.WAYPOINT_STAFF_HOME)."""
    return reverse(settings.WAYPOINT_STAFF_HOME)


class _AppList(Sequence):
    """The app list (nav sidebar, index), built on first use: every admin page's each_context
    asks for it, and building it checks every model admin's permissions (~5 ms) even on pages
    that never show it (the worklist)."""

    def __init__(self, build):
        self._build, self._apps = build, None

    def _list(self):
        if self._apps is None:
            self._apps = self._build()
        return self._apps

    def __getitem__(self, index):
        return self._list()[index]

    def __len__(self):
        return len(self._list())


class WaypointAdminSite(admin.AdminSite):
    site_header = "Waypoint care team"
    site_title = "Waypoint"
    index_title = "Your center's families"

    def has_permission(self, request):
        return super().has_permission(request) and is_verified(request.user)

    def get_app_list(self, request, app_label=None):
        build = super().get_app_list
        return _AppList(lambda: build(request, app_label))

    def _build_app_dict(self, request, label=None):
        """Django's, with the app and model names translated once: they are lazy strings, and
        sorting the list translated both sides of every comparison (~130 gettext calls)."""
        app_dict = super()._build_app_dict(request, label)
        for app in app_dict.values():
            app["name"] = str(app["name"])
            for model in app["models"]:
                model["name"] = str(model["name"])
        return app_dict

    def login(self, request, extra_context=None):
        """Staff with a password but no code go to the second factor; with no page asked
        for (or the index, where Django sends everyone), the login leads to the worklist."""
        index = reverse("admin:index", current_app=self.name)
        asked = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
        target = staff_home() if asked in (None, "", index) else asked
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and not is_verified(user):
            return redirect(f"{reverse('two_factor:verify')}?{urlencode({'next': target})}")
        if target != asked:
            request.GET = request.GET.copy()
            request.GET[REDIRECT_FIELD_NAME] = target
            if REDIRECT_FIELD_NAME in request.POST:
                request.POST = request.POST.copy()
                request.POST[REDIRECT_FIELD_NAME] = target
        return super().login(request, extra_context)
