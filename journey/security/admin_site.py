"""The admin answers only to staff who passed the second factor in this session.

A staff user who logged in with a password but has not entered a code is sent to the
two-factor page (set-up first when they have no device yet), then back where they were going.
Permissions and centers are read from the database on every request (the login backend,
journey.security.backends, and journey.access): nothing about who may see what is cached
between requests.
"""

from collections.abc import Sequence
from functools import lru_cache
from html import escape
from urllib.parse import quote, urlencode

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME, get_backends, get_permission_codename
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import PermissionsMixin
from django.shortcuts import redirect
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import get_language, gettext


def is_verified(user):
    """True once django-otp's middleware has seen a device confirmed in this session."""
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def staff_home():
    """Where staff land after login: the worklist (settings.WAYPOINT_STAFF_HOME)."""
    return reverse(settings.WAYPOINT_STAFF_HOME)


def _admin_url(site, name, app_label=None, where=None):
    """An admin URL of the app list (None when the site has no such page); `where`: the
    request's (URLconf, script prefix), read once for a whole list."""
    urlconf, prefix = where or _where()
    return _reversed(urlconf, prefix, site, name, app_label)


def _where():
    return get_urlconf() or settings.ROOT_URLCONF, get_script_prefix()


@lru_cache(maxsize=512)
def _reversed(urlconf, prefix, site, name, app_label):
    """reverse() once per URLconf, script prefix, site and page: URLs of code, no data."""
    kwargs = {"app_label": app_label} if app_label else None
    try:
        return reverse(f"admin:{name}", kwargs=kwargs, current_app=site, urlconf=urlconf)
    except NoReverseMatch:
        return None


def _djangos(model_admin, name):
    """True when the admin's method `name` is ModelAdmin's (it asks user.has_perm)."""
    return name in _djangos_methods(type(model_admin))


@lru_cache(maxsize=256)
def _djangos_methods(kind):
    names = ("has_module_permission", "get_model_perms")
    names += tuple(f"has_{action}_permission" for action in ("add", "change", "delete", "view"))
    return {name for name in names if getattr(kind, name) is getattr(admin.ModelAdmin, name)}


class _UserPerms:
    """What user.has_perm and has_module_perms answer, read once a request: they ask every
    backend again for each of ~90 questions the app list asks (~3 ms). Only where those
    answers are `perm in backend.get_all_permissions(user)` (ModelBackend's has_perm and
    has_module_perms, on a user model with Django's own); None elsewhere."""

    @classmethod
    def of(cls, user):
        kind = user.__class__  # request.user is a lazy object
        if kind.has_perm is not PermissionsMixin.has_perm:
            return None
        if kind.has_module_perms is not PermissionsMixin.has_module_perms:
            return None
        return cls(user) if all(_plain_backend(b) for b in get_backends()) else None

    def __init__(self, user):
        self.every = user.is_active and user.is_superuser
        own = user.is_active and not self.every
        self.perms = user.get_all_permissions() if own else set()
        self.apps = {perm[: perm.index(".")] for perm in self.perms}

    def has(self, opts, action):
        return self.every or f"{opts.app_label}.{_codename(action, opts)}" in self.perms

    def answer(self, request, model_admin, action):
        """model_admin.has_<action>_permission(request), read here when it is Django's."""
        name = f"has_{action}_permission"
        if not _djangos(model_admin, name):
            return getattr(model_admin, name)(request)
        opts = model_admin.opts
        if action == "view":  # Django's: the view or the change permission
            return self.has(opts, "view") or self.has(opts, "change")
        return self.has(opts, action)

    def model_perms(self, request, model_admin):
        """model_admin.get_model_perms(request)."""
        if not _djangos(model_admin, "get_model_perms"):
            return model_admin.get_model_perms(request)
        actions = ("add", "change", "delete", "view")
        return {action: self.answer(request, model_admin, action) for action in actions}

    def module(self, request, model_admin):
        """model_admin.has_module_permission(request)."""
        if not _djangos(model_admin, "has_module_permission"):
            return model_admin.has_module_permission(request)
        return self.every or model_admin.opts.app_label in self.apps


def _plain_backend(backend):
    """A backend that grants nothing, or grants as ModelBackend does (its permission set)."""
    if isinstance(backend, ModelBackend):
        kind = type(backend)
        return (
            kind.has_perm is ModelBackend.has_perm
            and kind.has_module_perms is ModelBackend.has_module_perms
        )
    return not any(hasattr(backend, name) for name in ("has_perm", "has_module_perms"))


@lru_cache(maxsize=1024)
def _app_name(app_label, language):
    """An app's name in the language (the lazy string translated once per process)."""
    return str(apps.get_app_config(app_label).verbose_name)


@lru_cache(maxsize=4096)
def _model_name(model, language):
    return str(capfirst(model._meta.verbose_name_plural))


@lru_cache(maxsize=1024)
def _codename(action, opts):
    return get_permission_codename(action, opts)


class _AppList(Sequence):
    """The app list (nav sidebar, index), built on first use: every admin page's each_context
    asks for it, and building it checks every model admin's permissions (~5 ms) even on pages
    that never show it (the worklist)."""

    def __init__(self, build, path=""):
        self._build, self._apps, self._path = build, None, path

    def nav_html(self):
        """The nav sidebar's app list (templates/admin/nav_sidebar.html)."""
        return nav_html(self, self._path)

    def _list(self):
        if self._apps is None:
            self._apps = self._build()
        return self._apps

    def __getitem__(self, index):
        return self._list()[index]

    def __len__(self):
        return len(self._list())


def nav_html(app_list, path):
    """Django's admin/app_list.html as the sidebar includes it (no change links), written in
    Python: the template took ~5 ms for ~37 models. A test compares the two."""
    if not app_list:
        nothing = gettext("You don’t have permission to view or edit anything.")
        return mark_safe(f"<p>{escape(nothing)}</p>")  # noqa: S308
    words = {
        "add": escape(gettext("Add")),
        "heads": "".join(
            f'<th scope="col">{escape(gettext(head))}</th>'
            for head in ("Model name", "Add link", "Change or view list link")
        ),
    }
    path = quote(path)  # the template's request.path|urlencode
    return mark_safe("".join(_app_html(app, path, words) for app in app_list))  # noqa: S308


def _within(url, path):
    return url is not None and url in path


def _app_html(app, path, words):
    label = escape(app["app_label"])
    current = " current-app" if _within(app["app_url"], path) else ""
    title = gettext("Models in the %(name)s application") % {"name": escape(app["name"])}
    rows = "".join(_model_html(model, label, path, words) for model in app["models"])
    return (
        f'<div class="app-{label} module{current}"><table><caption>'
        f'<a href="{escape(str(app["app_url"]))}" class="section" title="{title}">'
        f'{escape(app["name"])}</a></caption><thead class="visually-hidden"><tr>'
        f"{words['heads']}</tr></thead>{rows}</table></div>"
    )


def _model_html(model, label, path, words):
    name = escape(model["object_name"].lower())
    row_id = f"{label}-{name}"
    url = model["admin_url"]
    current = _within(url, path)
    text = escape(model["name"])
    if url:
        aria = ' aria-current="page"' if current else ""
        text = f'<a href="{escape(url)}"{aria}>{text}</a>'
    add = "<td></td>"
    if model["add_url"]:
        add = (
            f'<td><a href="{escape(model["add_url"])}" class="addlink" '
            f'aria-describedby="{row_id}">{words["add"]}</a></td>'
        )
    return (
        f'<tr class="model-{name}{" current-model" if current else ""}">'
        f'<th scope="row" id="{row_id}">{text}</th>{add}</tr>'
    )


class WaypointAdminSite(admin.AdminSite):
    site_header = "Waypoint care team"
    site_title = "Waypoint"
    index_title = "Your center's families"

    def has_permission(self, request):
        return super().has_permission(request) and is_verified(request.user)

    def get_app_list(self, request, app_label=None):
        build = super().get_app_list
        return _AppList(lambda: build(request, app_label), request.path)

    def _build_app_dict(self, request, label=None):
        """Django's, with each URL reversed once per process (~80 reverse() calls a page
        with the sidebar) and the app and model names translated once: they are lazy
        strings, and sorting the list translated both sides of every comparison (~130
        gettext calls). Permissions are asked on every call, as Django does."""
        app_dict = {}
        user_perms = _UserPerms.of(request.user)
        where = _where()
        for model, model_admin in self._registry.items():
            app_label = model._meta.app_label
            if label and app_label != label:
                continue
            has_module_perms, perms = self._perms(request, model_admin, user_perms)
            if not perms or True not in perms.values():
                continue
            model_dict = self._model_dict(model, perms, where)
            if app_label in app_dict:
                app_dict[app_label]["models"].append(model_dict)
                continue
            app_dict[app_label] = {
                "name": _app_name(app_label, get_language()),
                "app_label": app_label,
                "app_url": _admin_url(self.name, "app_list", app_label, where),
                "has_module_perms": has_module_perms,
                "models": [model_dict],
            }
        return app_dict

    @staticmethod
    def _perms(request, model_admin, user_perms):
        """(has_module_permission, get_model_perms or False), asked of the model admin, or
        read from the user's permissions (_UserPerms) where its methods are Django's."""
        if user_perms is None:
            has_module_perms = model_admin.has_module_permission(request)
            return has_module_perms, has_module_perms and model_admin.get_model_perms(request)
        has_module_perms = user_perms.module(request, model_admin)
        return has_module_perms, has_module_perms and user_perms.model_perms(request, model_admin)

    def _model_dict(self, model, perms, where=None):
        """One model's entry, as Django's _build_app_dict writes it."""
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        entry = {
            "model": model,
            "name": _model_name(model, get_language()),
            "object_name": model._meta.object_name,
            "perms": perms,
            "admin_url": None,
            "add_url": None,
        }
        if perms.get("change") or perms.get("view"):
            entry["view_only"] = not perms.get("change")
            entry["admin_url"] = _admin_url(self.name, f"{info}_changelist", where=where)
        if perms.get("add"):
            entry["add_url"] = _admin_url(self.name, f"{info}_add", where=where)
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
