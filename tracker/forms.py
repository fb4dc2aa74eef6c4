"""Forms of the tracker's admin pages: parse input; the services decide."""

import datetime as dt
import zoneinfo

from django import forms
from django.contrib.admin.widgets import AdminDateWidget, AdminTimeWidget
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import services


def value_field(code):
    return f"{code}_value"


def unit_field(code):
    return f"{code}_unit"


class EnterResultsForm(forms.Form):
    """One collection: date and time, then a value and a unit per test of the plan."""

    collected_on = forms.DateField(label=_("Collection date"), widget=AdminDateWidget)
    collected_time = forms.TimeField(
        label=_("Collection time"), widget=AdminTimeWidget, initial=dt.time(9, 0)
    )

    def __init__(self, *args, tests, zone, **kwargs):
        super().__init__(*args, **kwargs)
        self.tests, self.zone = list(tests), zoneinfo.ZoneInfo(zone)
        for test in self.tests:
            self.fields[value_field(test.code)] = forms.CharField(
                label=test.family_name, required=False, max_length=40
            )
            self.fields[unit_field(test.code)] = forms.ChoiceField(
                label=_("unit"),
                choices=[(u.unit, u.unit) for u in test.units.all()],
                initial=test.unit,
            )

    def rows_of_fields(self):
        """(test, value bound field, unit bound field) for the template."""
        return [(t, self[value_field(t.code)], self[unit_field(t.code)]) for t in self.tests]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("collected_on") and cleaned.get("collected_time"):
            naive = dt.datetime.combine(cleaned["collected_on"], cleaned["collected_time"])
            cleaned["collected_at"] = timezone.make_aware(naive, self.zone)
        for test in self.tests:
            self._check_row(test, cleaned)
        if not self.errors and not self.rows():
            raise ValidationError(_("Type at least one result."))
        return cleaned

    def _check_row(self, test, cleaned):
        raw = (cleaned.get(value_field(test.code)) or "").strip()
        if not raw:
            return
        try:
            services.parse_value(test, raw, cleaned.get(unit_field(test.code)))
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                name = unit_field(test.code) if key == "unit" else value_field(test.code)
                self.add_error(name, messages)

    def rows(self):
        data = self.cleaned_data
        return [
            (t.code, data[value_field(t.code)].strip(), data[unit_field(t.code)])
            for t in self.tests
            if (data.get(value_field(t.code)) or "").strip()
        ]

    def add_service_errors(self, error):
        """Put a service's ValidationError (keyed by test code) by the matching field."""
        for key, messages in error.message_dict.items():
            if key == "collected_at":
                self.add_error("collected_on", messages)
            elif value_field(key) in self.fields:
                self.add_error(value_field(key), messages)
            else:
                self.add_error(None, messages)


class ReasonForm(forms.Form):
    """A worklist action on one row: review note, missed reason, or closing an extension."""

    ACTIONS = ("review", "missed", "close_extension")

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS], widget=forms.HiddenInput)
    target = forms.UUIDField(required=False, widget=forms.HiddenInput)
    item = forms.IntegerField(required=False, widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), max_length=1000)


class LabelReviewForm(forms.Form):
    """The coordinator's decision on a label change: apply it, or keep the plan (say why)."""

    APPLY, KEEP = "apply", "keep"

    action = forms.ChoiceField(choices=[(APPLY, APPLY), (KEEP, KEEP)], widget=forms.HiddenInput)
    # The label the page compared against: apply refuses if the label changed meanwhile.
    shown = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Why (required to keep the current plan)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
