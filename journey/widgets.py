"""Admin form fields and widgets that never turn bad input into a server error."""

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import ValidationError

BIGINT = 2**63


def _key_in_range(field, raw):
    """False for a key no database column can hold (2**70): SQLite raises OverflowError on it
    where PostgreSQL just finds nothing. Other malformed keys are left to Django's message."""
    opts = field.queryset.model._meta
    model_field = opts.get_field(field.to_field_name) if field.to_field_name else opts.pk
    try:
        key = model_field.to_python(raw)
    except (ValidationError, TypeError, ValueError, OverflowError):
        return True
    return not isinstance(key, int) or -BIGINT <= key < BIGINT


class SafeModelChoiceField(forms.ModelChoiceField):
    def to_python(self, value):
        if value not in self.empty_values and not _key_in_range(self, value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class SafeModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        for raw in value:
            if not _key_in_range(self, raw):
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": raw},
                )
        return super()._check_values(value)


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


def make_choice_field_safe(formfield):
    """Swap in the safe field and autocomplete widget classes; other fields stay as they are."""
    if type(formfield) is forms.ModelMultipleChoiceField:
        formfield.__class__ = SafeModelMultipleChoiceField
    elif type(formfield) is forms.ModelChoiceField:
        formfield.__class__ = SafeModelChoiceField
    widget = getattr(formfield, "widget", None)
    if isinstance(widget, AutocompleteSelectMultiple):
        widget.__class__ = SafeAutocompleteSelectMultiple
    elif isinstance(widget, AutocompleteSelect):
        widget.__class__ = SafeAutocompleteSelect
    return formfield
