"""Logins, failed logins and logouts go into the audit trail (django-axes keeps its own too)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from . import events


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
