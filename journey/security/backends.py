"""The login backend: who is logged in, read in one query on every request.

Django's ModelBackend reads the user; the portal then read the guardian row and django-otp
the session's device, one query each. Here the user comes with their guardian row (and its
center) and the device the session names (journey.security.otp sets which one while the user
is loaded): one query. Staff permissions are one query instead of two. Nothing is kept
between requests, so a deactivated login, a removed or unconfirmed device and an unlinked
guardian row count from the very next request.
"""

import functools
from contextvars import ContextVar

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import FilteredRelation, Q
from django_otp.models import Device

from ..prepared import Prepared

# (the user's reverse relation to a device model, the device's id) of the device named in the
# session; set only while journey.security.otp loads the request's user.
session_device = ContextVar("waypoint_session_device", default=None)
DEVICE_ATTR = "otp_session_device"  # the device read with the user (None: not theirs, gone)


def device_relation(persistent_id):
    """`(relation, id)` for a device persistent id ("otp_totp.totpdevice/7"), else None."""
    try:
        label, device_id = persistent_id.rsplit("/", 1)
        model = apps.get_model(label)
        device_id = int(device_id)
    except (AttributeError, ValueError, LookupError):
        return None
    if not issubclass(model, Device):
        return None
    return model._meta.get_field("user").related_query_name(), device_id


class WaypointBackend(ModelBackend):
    """ModelBackend with the per-request reads collapsed (same checks, fewer round trips)."""

    def get_user(self, user_id):
        device = session_device.get()
        query = _user_query(device[0] if device else None)
        values = {"user_id": user_id, **({"device_id": device[1]} if device else {})}
        user = query.first(**values)
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        """The user's own and their groups' permissions, in one query (ModelBackend: two)."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                rows = _EVERY_PERMISSION.run()
            else:
                rows = _HELD_PERMISSIONS.run(user_id=user_obj.pk)
            user_obj._perm_cache = {f"{app}.{codename}" for app, codename in rows}
        return user_obj._perm_cache


@functools.cache
def _user_query(relation):
    """The user with their guardian row (and its center) and, `relation` given, the device of
    that kind the session names: one query, compiled once per kind (journey.prepared)."""

    def build(user_id, device_id=None):
        users = get_user_model()._default_manager.select_related("guardian__center")
        if relation is not None:
            only_it = FilteredRelation(relation, condition=Q(**{f"{relation}__pk": device_id}))
            users = users.annotate(**{DEVICE_ATTR: only_it}).select_related(DEVICE_ATTR)
        return users.filter(pk=user_id)[:1]

    if relation is None:
        return Prepared(build, user_id=int)
    return Prepared(build, user_id=int, device_id=int)


def _held_by(user_id):
    """The user's own permissions or their groups', as two id subqueries (joining both link
    tables in one FROM multiplied the rows: ~10 ms in PostgreSQL)."""
    users = get_user_model()
    own = users.user_permissions.through.objects.filter(user_id=user_id)
    groups = users.groups.through.objects.filter(user_id=user_id).values("group_id")
    grouped = Group.permissions.through.objects.filter(group_id__in=groups)
    return Q(pk__in=own.values("permission_id")) | Q(pk__in=grouped.values("permission_id"))


def _permissions(user_id=None):
    """Every permission as (app label, codename), or the user's; unordered (a set is made
    of them: Permission's own order sorted ~240 rows on every admin request)."""
    perms = Permission.objects.order_by()
    if user_id is not None:
        perms = perms.filter(_held_by(user_id))
    return perms.values_list("content_type__app_label", "codename")


# Compiled once per process (journey.prepared): read on every admin request.
_EVERY_PERMISSION = Prepared(_permissions)
_HELD_PERMISSIONS = Prepared(_permissions, user_id=int)
