"""The admin answers only to staff who passed the second factor in this session.

A staff user who logged in with a password but has not entered a code is sent to the
two-factor page (set-up first when they have no device yet), then back where they were going.
Permissions and centers are read from the database on every request (the login backend,
journey.security.backends, and journey.access): nothing about who may see what is cached
between requests.
"""

from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.shortcuts import redirect
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.text import capfirst


def is_verified(user):
    """True once django-otp's middleware has seen a device confirmed in this session."""
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def staff_home():
    """Where staff land after login: the worklist (settings.WAYPOINT_STAFF_HOME)."""
    return reverse(settings.WAYPOINT_STAFF_HOME)


def _admin_url(site, name, app_label=None):
    """An admin URL of the app list (None when the site has no such page)."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    return _reversed(urlconf, get_script_prefix(), site, name, app_label)


@lru_cache(maxsize=512)
def _reversed(urlconf, prefix, site, name, app_label):
    """reverse() once per URLconf, script prefix, site and page: URLs of code, no data."""
    kwargs = {"app_label": app_label} if app_label else None
    try:
        return reverse(f"admin:{name}", kwargs=kwargs, current_app=site, urlconf=urlconf)
    except NoReverseMatch:
        return None


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
        """Django's, with each URL reversed once per process (~80 reverse() calls a page
        with the sidebar) and the app and model names translated once: they are lazy
        strings, and sorting the list translated both sides of every comparison (~130
        gettext calls). Permissions are asked on every call, as Django does."""
        app_dict = {}
        for model, model_admin in self._registry.items():
            app_label = model._meta.app_label
            if label and app_label != label:
                continue
            has_module_perms = model_admin.has_module_permission(request)
            perms = has_module_perms and model_admin.get_model_perms(request)
            if not perms or True not in perms.values():
                continue
            model_dict = self._model_dict(model, perms)
            if app_label in app_dict:
                app_dict[app_label]["models"].append(model_dict)
                continue
            app_dict[app_label] = {
                "name": str(apps.get_app_config(app_label).verbose_name),
                "app_label": app_label,
                "app_url": _admin_url(self.name, "app_list", app_label),
                "has_module_perms": has_module_perms,
                "models": [model_dict],
            }
        return app_dict

    def _model_dict(self, model, perms):
        """One model's entry, as Django's _build_app_dict writes it."""
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        entry = {
            "model": model,
            "name": str(capfirst(model._meta.verbose_name_plural)),
            "object_name": model._meta.object_name,
            "perms": perms,
            "admin_url": None,
            "add_url": None,
        }
        if perms.get("change") or perms.get("view"):
            entry["view_only"] = not perms.get("change")
            entry["admin_url"] = _admin_url(self.name, f"{info}_changelist")
        if perms.get("add"):
            entry["add_url"] = _admin_url(self.name, f"{info}_add")
        return entry

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
