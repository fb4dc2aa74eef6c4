"""The admin answers only to staff who passed the second factor in this session.

A staff user who logged in with a password but has not entered a code is sent to the
two-factor page (set-up first when they have no device yet), then back where they were going.

Every admin page needs the user's permissions and centers: three queries (user and group
permissions, memberships). They are read from the cache instead (prime_staff), under two
version tokens, the same scheme as journey/security/lookups.py: the user's own (any save or
delete of the user) and everyone's (any membership, group, permission or content type change,
or a change to who has which group or permission). A reader takes the tokens before it reads
the database; a writer deletes the token at once and again after its commit. Like the login
cache, only with a cache every process shares: WAYPOINT_LOGIN_CACHE_SECONDS (0 without Redis,
then the backends query as usual) is also the bound on anything a bulk write might bypass.
"""

import logging
from collections.abc import Sequence
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.shortcuts import redirect
from django.urls import reverse

from journey.models import Membership
from journey.tokens import database_tag, draw, forget

log = logging.getLogger(__name__)

PREFIX = f"staff:{database_tag()}"
EVERYONE = f"{PREFIX}:v:all"


def is_verified(user):
    """True once django-otp's middleware has seen a device confirmed in this session."""
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def _seconds():
    return getattr(settings, "WAYPOINT_LOGIN_CACHE_SECONDS", 0)


def _user_key(user_id):
    return f"{PREFIX}:v:u:{user_id}"


def _load(user):
    """(user permissions, group permissions, center ids) from the database."""
    backend = ModelBackend()
    return (
        backend.get_user_permissions(user),
        backend.get_group_permissions(user),
        set(user.memberships.values_list("center_id", flat=True)),
    )


def prime_staff(user):
    """Give a staff user their permissions and centers from the cache (one round trip): what
    ModelBackend and journey.access.center_ids_for would otherwise query on this request."""
    if not (user.is_authenticated and user.is_active) or user.is_superuser:
        return  # a superuser's checks need no query
    if hasattr(user, "_perm_cache") or not _seconds():
        return
    keys, row_key = [EVERYONE, _user_key(user.pk)], f"{PREFIX}:row:{user.pk}"
    try:
        found = cache.get_many([*keys, row_key])
        tokens = draw(keys, found, _seconds())
    except Exception:  # no cache: the backends query, as without this function
        log.exception("staff lookups: cache unavailable")
        return
    row = found.get(row_key)
    if row is None or row[0] != tokens:
        row = (tokens, _load(user))  # after the tokens were taken: see the module's docstring
        cache.set(row_key, row, _seconds())
    user_perms, group_perms, centers = row[1]
    user._user_perm_cache, user._group_perm_cache = user_perms, group_perms
    user._perm_cache = {*user_perms, *group_perms}  # as ModelBackend.get_all_permissions
    user._waypoint_center_ids = centers  # journey.access.center_ids_for's memo


@receiver([post_save, post_delete], sender=get_user_model(), dispatch_uid="staff_user")
def _user_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        forget([_user_key(instance.pk)])


@receiver([post_save, post_delete], sender=Membership, dispatch_uid="staff_membership")
@receiver([post_save, post_delete], sender=Group, dispatch_uid="staff_group")
@receiver([post_save, post_delete], sender=Permission, dispatch_uid="staff_permission")
@receiver([post_save, post_delete], sender=ContentType, dispatch_uid="staff_content_type")
def _access_changed(sender, raw=False, **kwargs):
    if not raw:
        forget([EVERYONE])


@receiver(m2m_changed, sender=get_user_model().groups.through, dispatch_uid="staff_groups")
@receiver(m2m_changed, sender=get_user_model().user_permissions.through, dispatch_uid="staff_perms")
@receiver(m2m_changed, sender=Group.permissions.through, dispatch_uid="staff_group_perms")
def _grants_changed(sender, action, **kwargs):
    if action.startswith("post_") or action == "pre_clear":
        forget([EVERYONE])


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
        prime_staff(request.user)
        return super().has_permission(request) and is_verified(request.user)

    def get_app_list(self, request, app_label=None):
        build = super().get_app_list
        return _AppList(lambda: build(request, app_label))

    def login(self, request, extra_context=None):
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and not is_verified(user):
            target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
            return redirect(f"{reverse('two_factor:verify')}?{urlencode({'next': target})}")
        return super().login(request, extra_context)
