"""Audit records that are not model changes: logins, second-factor steps and staff views."""

from django.contrib.contenttypes.models import ContentType
from django.utils.encoding import smart_str

from journey.security.ratelimits import client_ip

from .models import AuditRecord, Event
from .registry import GUARDIAN_PATHS, PATIENT_PATHS, Action, follow

LOGIN = Event.LOGIN
LOGIN_FAILED = Event.LOGIN_FAILED
LOGOUT = Event.LOGOUT
OTP_VERIFIED = Event.OTP_VERIFIED
OTP_FAILED = Event.OTP_FAILED
OTP_ENABLED = Event.OTP_ENABLED
OTP_DISABLED = Event.OTP_DISABLED
BACKUP_CODES_RENEWED = Event.BACKUP_CODES_RENEWED
SESSION_EXPIRED = Event.SESSION_EXPIRED


def _request_fields(request):
    if request is None:
        return {}
    known = request.META.get("REMOTE_ADDR") or request.META.get("HTTP_X_FORWARDED_FOR")
    return {
        "remote_addr": client_ip(request) if known else None,
        "path": request.path[:300],
        "additional_data": {"user_agent": request.META.get("HTTP_USER_AGENT", "")[:200]},
    }


def record_security_event(request, event, user=None, username="", details=None):
    """A login-related event. A failed login for an unknown email names only what was typed."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    fields = _request_fields(request)
    if details:
        fields.setdefault("additional_data", {}).update(details)
    actor = user if user is not None and user.pk else None
    return AuditRecord.objects.create(
        content_type=ContentType.objects.get_for_model(User),
        object_pk=str(actor.pk) if actor else "",
        object_id=actor.pk if actor else None,
        object_repr=(actor.email if actor else username)[:254],
        action=Action.ACCESS,
        event=event,
        actor=actor,
        actor_email=actor.email if actor else "",
        **fields,
    )


def record_view(request, obj):
    """A staff member opened a page showing this object (a patient's record)."""
    label = obj._meta.label_lower
    return AuditRecord.objects.create(
        content_type=ContentType.objects.get_for_model(obj),
        object_pk=str(obj.pk),
        object_id=obj.pk,
        object_repr=smart_str(obj)[:500],
        action=Action.ACCESS,
        event=Event.VIEWED,
        actor=request.user,
        actor_email=request.user.email,
        patient_id=follow(obj, PATIENT_PATHS[label]) if label in PATIENT_PATHS else None,
        guardian_id=follow(obj, GUARDIAN_PATHS[label]) if label in GUARDIAN_PATHS else None,
        **_request_fields(request),
    )
