"""Checks of typed input that every app's services share (journey imports nothing of ours, so
tracker and notifications may use them too)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def require_reason(text, field="reason"):
    """The reason without surrounding blanks; a ValidationError on `field` when there is none.

    Every state change that matters keeps its why: a blank reason is refused, not stored.
    """
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: _("Please give a reason; it is kept in the history.")})
    return text
