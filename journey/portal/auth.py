"""Login helpers for django-axes."""

from django.conf import settings


def lockout_username(request, credentials=None):
    """The email as typed, trimmed and lower-cased: "Ana@X.org" and "ana@x.org" count together."""
    field = settings.AXES_USERNAME_FORM_FIELD
    source = credentials if credentials else getattr(request, "POST", {})
    return (source.get(field) or "").strip().lower()
