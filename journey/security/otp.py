"""django-otp's middleware, with the session's device read in the user's own query.

request.user.otp_device and is_verified() mean what django-otp says: the device named in the
session, if it still exists, is confirmed and belongs to this user. The device comes from
the database on every request (journey.security.backends), never from a cache.
"""

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware as BaseOTPMiddleware

from .backends import DEVICE_ATTR, device_relation, session_device

_NOT_READ = object()


class OTPMiddleware(BaseOTPMiddleware):
    def _verify_user_sync(self, request, user):
        session = getattr(request, "session", None)
        persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
        if persistent_id:
            persistent_id = self._normalize_persistent_id(persistent_id)
        wanted = device_relation(persistent_id) if persistent_id else None
        token = session_device.set(wanted)
        try:
            self._init_user_fields(user)  # loads the user now, with the device when wanted
        finally:
            session_device.reset(token)
        if not user.is_authenticated:
            return user
        device = getattr(user, DEVICE_ATTR, _NOT_READ) if wanted is not None else None
        if device is _NOT_READ:  # the user was loaded before this middleware ran
            device = self._device_from_persistent_id(persistent_id)
        user.otp_device = self._finalize_device(request, user, device)
        return user
