"""Session limits: logged out after inactivity (staff sooner than families) and 12 h after login.

The login instant and the last request's instant live in the session. The last-seen time is
written at most once a minute, so an ordinary page view does not rewrite the session row.
A guardian who turned the second factor on is sent to enter a code before any portal page.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from . import events

LOGIN_AT = "waypoint_login_at"
LAST_SEEN = "waypoint_last_seen"
OTP_REQUIRED = "waypoint_otp_required"
WRITE_EVERY = 60  # seconds: last-seen granularity (at most one session write a minute)
OTP_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/admin/")


def _now():
    return timezone.now().timestamp()


def idle_limit(user):
    if user.is_staff:
        return settings.WAYPOINT_SESSION_IDLE_STAFF.total_seconds()
    return settings.WAYPOINT_SESSION_IDLE_FAMILY.total_seconds()


def expired(session, user, now):
    """Why this session must end ("idle", "absolute"), or None."""
    login_at = session.get(LOGIN_AT)
    last_seen = session.get(LAST_SEEN, login_at)
    if login_at is None:
        return None
    if now - login_at > settings.WAYPOINT_SESSION_ABSOLUTE.total_seconds():
        return "absolute"
    if last_seen is not None and now - last_seen > idle_limit(user):
        return "idle"
    return None


@receiver(user_logged_in, dispatch_uid="waypoint_session_start")
def start_session_clock(sender, request, user, **kwargs):
    """Django has already cycled the session key; start the clocks in the new session."""
    if request is None or not hasattr(request, "session"):
        return
    now = _now()
    request.session[LOGIN_AT] = now
    request.session[LAST_SEEN] = now
    if not user.is_staff:
        from django_otp import user_has_device

        request.session[OTP_REQUIRED] = user_has_device(user)


class SessionLimitsMiddleware:
    """After authentication and django-otp's middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and SESSION_KEY in session and request.user.is_authenticated:
            now = _now()
            if LOGIN_AT not in session:  # a session from before these limits: start now
                session[LOGIN_AT] = session[LAST_SEEN] = now
            reason = expired(session, request.user, now)
            if reason:
                events.announce(
                    request, events.SESSION_EXPIRED, request.user, details={"why": reason}
                )
                logout(request)
                request.session_ended = reason
            else:
                if now - session.get(LAST_SEEN, 0) >= WRITE_EVERY:
                    session[LAST_SEEN] = now
                if self._needs_code(request):
                    query = urlencode({"next": request.get_full_path()})
                    return redirect(f"{reverse('two_factor:verify')}?{query}")
        return self.get_response(request)

    @staticmethod
    def _needs_code(request):
        """A guardian with a device who has not entered a code in this session."""
        if not request.session.get(OTP_REQUIRED) or request.path.startswith(OTP_EXEMPT_PREFIXES):
            return False
        return not request.user.is_verified()
