"""Checks of typed input that every app's services share (journey imports nothing of ours, so
tracker and notifications may use them too)."""

from django import forms
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


class BoundedJSONField(forms.JSONField):
    """The admin's JSON box: too long or nested too deeply ("[[[[…" thousands deep made the
    JSON parser raise RecursionError, a 500) is a message by the field."""

    MAX_CHARS = 100_000

    def to_python(self, value):
        if isinstance(value, str) and len(value) > self.MAX_CHARS:
            raise ValidationError(_("This JSON is too long."), code="too_long")
        try:
            return super().to_python(value)
        except RecursionError:
            raise ValidationError(_("This JSON is nested too deeply."), code="too_deep") from None

    def bound_data(self, data, initial):
        """Re-showing the form: the text as typed when it cannot be read back."""
        if isinstance(data, str) and len(data) > self.MAX_CHARS:
            return forms.fields.InvalidJSONInput(data)
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return forms.fields.InvalidJSONInput(data)
