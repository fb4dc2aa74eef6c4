"""Security events (second-factor steps, a session ended by its limits) announced as a signal.

`journey` imports nothing of `audit`: it sends `security_event`, and `audit` (the app above) listens
in its AppConfig.ready and writes the record. The signal is sent at once, not on commit, like
Django's own `user_logged_in`: the record describes the request, not a data change, and it is
written in the same transaction as whatever the request did.
"""

from django.dispatch import Signal

OTP_VERIFIED = "otp_verified"
OTP_FAILED = "otp_failed"
OTP_ENABLED = "otp_enabled"
OTP_DISABLED = "otp_disabled"
BACKUP_CODES_RENEWED = "backup_codes_renewed"
SESSION_EXPIRED = "session_expired"

# Sent with: request, event (one of the names above), user, details (a dict or None).
security_event = Signal()


def announce(request, event, user, details=None):
    """Tell listeners (the audit trail) that `event` happened to `user` in this request."""
    security_event.send(
        sender="journey.security", request=request, event=event, user=user, details=details
    )
