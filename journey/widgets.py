"""Admin widgets that never turn bad input into a server error."""

from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import ValidationError

BIGINT = 2**63


class SafeAutocompleteMixin:
    """Re-rendering an invalid form, Django's autocomplete widget looks up the submitted raw
    value; one that is not a valid key (":" or 2**70) raised there, a 500 instead of the
    field's own "select a valid choice" message. Such values are simply not looked up."""

    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, [v for v in value if self._is_valid_key(v)], attr)

    def _is_valid_key(self, raw):
        remote = self.field.remote_field
        target = remote.model._meta.get_field(remote.field_name)
        try:
            key = target.to_python(raw)
        except (ValidationError, TypeError, ValueError, OverflowError):
            return False
        return not isinstance(key, int) or -BIGINT <= key < BIGINT


class SafeAutocompleteSelect(SafeAutocompleteMixin, AutocompleteSelect):
    pass


class SafeAutocompleteSelectMultiple(SafeAutocompleteMixin, AutocompleteSelectMultiple):
    pass


def make_autocomplete_safe(formfield):
    """Swap a form field's autocomplete widget for the safe one; other widgets stay."""
    widget = getattr(formfield, "widget", None)
    if isinstance(widget, AutocompleteSelectMultiple):
        widget.__class__ = SafeAutocompleteSelectMultiple
    elif isinstance(widget, AutocompleteSelect):
        widget.__class__ = SafeAutocompleteSelect
    return formfield
