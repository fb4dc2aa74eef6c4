"""The two rows every logged-in request reads, served from the cache: the user and the
second-factor device named in the session.

Django's AuthenticationMiddleware loads the user and django-otp's middleware loads the
device on every request: two queries (about half of a cached portal page's cost). Here each
row is cached under a version token, the same scheme as the portal's page cache
(journey/portal/cache.py): a reader takes the token *before* it reads the database and
stores the row under it; every save or delete of the row deletes the token at once and
again after the commit. A row read before a commit can only be stored under a token that
commit deleted, so a deactivated user, a changed password (the session hash) or a removed
device count from the next request on. ``WAYPOINT_LOGIN_CACHE_SECONDS`` bounds anything a
bulk update might bypass (there is none in this code base).

Only a cache every process shares can be told of a change made by another process, so
without Redis (a per-process cache) the setting is 0 and every request reads the database.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django_otp.middleware import OTPMiddleware
from django_otp.models import Device

from journey import tokens
from journey.tokens import database_tag, draw

log = logging.getLogger(__name__)

PREFIX = f"auth:{database_tag()}"


def _version_key(kind, pk):
    return f"{PREFIX}:v:{kind}:{pk}"


def cached_row(kind, pk, load):
    """load() (a row or None), cached per (kind, pk) until the row is saved or deleted."""
    seconds = settings.WAYPOINT_LOGIN_CACHE_SECONDS
    if not seconds:
        return load()
    version_key = _version_key(kind, pk)
    try:
        (token,) = draw([version_key], {version_key: cache.get(version_key)}, seconds)
        row_key = f"{PREFIX}:row:{kind}:{pk}:{token}"
        row = cache.get(row_key)
    except Exception:  # no cache: the database answers, as without this module
        log.exception("auth lookups: cache unavailable")
        return load()
    if row is None:
        row = load()  # after the token was taken: see the module's docstring
        if row is not None:
            cache.set(row_key, row, seconds)
    return row


def forget(kind, pk):
    """The row changed: forget it now and once the current transaction commits."""
    tokens.forget([_version_key(kind, pk)])


class CachedModelBackend(ModelBackend):
    """Django's ModelBackend; the logged-in user is read from the cache (see above)."""

    def get_user(self, user_id):
        load = super().get_user
        return cached_row("user", user_id, lambda: load(user_id))


class CachedOTPMiddleware(OTPMiddleware):
    """django-otp's middleware; the session's device is read from the cache (see above)."""

    def _device_from_persistent_id(self, persistent_id):
        persistent_id = self._normalize_persistent_id(persistent_id)
        load = super()._device_from_persistent_id
        return cached_row("device", persistent_id, lambda: load(persistent_id))


@receiver([post_save, post_delete], sender=get_user_model(), dispatch_uid="lookups_user")
def _user_changed(sender, instance, **kwargs):
    forget("user", instance.pk)


@receiver([post_save, post_delete], dispatch_uid="lookups_device")
def _device_changed(sender, instance, **kwargs):
    if isinstance(instance, Device):
        forget("device", instance.persistent_id)
