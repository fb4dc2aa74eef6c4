"""Logins, failed logins, logouts and journey's security events go into the audit trail.

(django-axes keeps its own record of logins too.)
"""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from conversations.signals import thread_viewed
from journey.security.events import security_event

from . import events
from .models import Event


@receiver(user_logged_in, dispatch_uid="audit_login")
def on_login(sender, request, user, **kwargs):
    events.record_security_event(request, events.LOGIN, user=user)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def on_login_failed(sender, credentials, request=None, **kwargs):
    typed = (credentials or {}).get("username") or (credentials or {}).get("email") or ""
    events.record_security_event(request, events.LOGIN_FAILED, username=typed.strip().lower())


@receiver(user_logged_out, dispatch_uid="audit_logout")
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        events.record_security_event(request, events.LOGOUT, user=user)


@receiver(security_event, dispatch_uid="audit_security_event")
def on_security_event(sender, request, event, user, details=None, **kwargs):
    """A second-factor step or a session ended by its limits (journey.security.events)."""
    events.record_security_event(request, Event(event), user=user, details=details)


@receiver(thread_viewed, dispatch_uid="audit_thread_viewed")
def on_thread_viewed(sender, request, thread, **kwargs):
    """A guardian (portal) or a staff member (admin) opened a message thread."""
    events.record_view(request, thread)
