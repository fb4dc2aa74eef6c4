"""Forms of the tracker's admin pages: parse input; the services decide."""

import datetime as dt
import zoneinfo

from django import forms
from django.contrib.admin.widgets import AdminDateWidget, AdminTimeWidget
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import services

# Unambiguous dates only: ISO, or the month by name (never 5/12/2026).
DATE_INPUTS = ["%Y-%m-%d", "%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y", "%b %d, %Y", "%B %d, %Y"]
TIME_INPUTS = ["%H:%M", "%H:%M:%S"]
REASON_MAX = 1000


def value_field(code):
    return f"{code}_value"


def unit_field(code):
    return f"{code}_unit"


def correct_field(code):
    return f"{code}_correct"


def _value_input():
    return forms.TextInput(attrs={"size": 10, "inputmode": "decimal", "autocomplete": "off"})


class EnterResultsForm(forms.Form):
    """One collection: date and time in the center's zone, then a value and a unit per test."""

    collected_on = forms.DateField(
        label=_("Collection date"),
        input_formats=DATE_INPUTS,
        widget=AdminDateWidget(format="%Y-%m-%d", attrs={"maxlength": 20}),
        error_messages={
            "invalid": _(
                "Write the date as year-month-day, for example 2026-03-02, or with the "
                "month's name: 2 Mar 2026."
            )
        },
    )
    collected_time = forms.TimeField(
        label=_("Collection time"),
        input_formats=TIME_INPUTS,
        widget=AdminTimeWidget(format="%H:%M", attrs={"maxlength": 8}),
        error_messages={"invalid": _("Write the time as hours:minutes, for example 08:30.")},
    )
    # The digest of the values the page asked to confirm (services.confirm_token).
    confirm = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    correction_reason = forms.CharField(
        label=_("Why correct (kept in the history)"), required=False, max_length=REASON_MAX
    )

    def __init__(self, *args, tests, zone, born, now, **kwargs):
        super().__init__(*args, **kwargs)
        self.tests, self.zone_name = list(tests), zone
        self.zone, self.born, self.now = zoneinfo.ZoneInfo(zone), born, now
        for name, label in (
            ("collected_on", _("Collection date")),
            ("collected_time", _("Collection time")),
        ):
            self.fields[name].label = f"{label} ({zone})"
        for test in self.tests:
            self.fields[value_field(test.code)] = forms.CharField(
                label=test.code, required=False, max_length=40, strip=False, widget=_value_input()
            )
            self.fields[unit_field(test.code)] = forms.ChoiceField(
                label=_("unit"),
                choices=[(u.unit, u.unit) for u in test.units.all()],
                initial=test.unit,
            )
            self.fields[correct_field(test.code)] = forms.BooleanField(
                label=_("This corrects it"), required=False
            )

    def rows_of_fields(self):
        """(test, value, unit, "corrects it" bound fields) for the template."""
        return [
            (t, self[value_field(t.code)], self[unit_field(t.code)], self[correct_field(t.code)])
            for t in self.tests
        ]

    def clean(self):
        cleaned = super().clean()
        self._check_when(cleaned)
        for test in self.tests:
            self._check_row(test, cleaned)
        if not self.errors and not self.rows():
            raise ValidationError(_("Type at least one result."))
        return cleaned

    def _check_when(self, cleaned):
        """Not in the future, not before birth: checked on the date first, so that no typed
        year (0001, 9999) reaches time-zone arithmetic."""
        day, time = cleaned.get("collected_on"), cleaned.get("collected_time")
        local_now = self.now.astimezone(self.zone)
        facts = {"zone": self.zone_name, "born": self.born, "today": local_now.date()}
        if day and day > local_now.date():
            message = _("The date cannot be in the future: today is %(today)s in %(zone)s.")
            self.add_error("collected_on", message % facts)
        elif day and (day < self.born or day.year < 1900):
            message = _("The date is before the child was born (%(born)s).")
            self.add_error("collected_on", message % facts)
        elif day and time:
            collected_at = timezone.make_aware(dt.datetime.combine(day, time), self.zone)
            if collected_at > self.now + services.FUTURE_MARGIN:
                message = _("This time is in the future: it is %(now)s in %(zone)s now.")
                facts["now"] = local_now.strftime("%H:%M")
                self.add_error("collected_time", message % facts)
            cleaned["collected_at"] = collected_at

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

    def check_duplicates(self, earlier):
        """Tests with a result for this very time: ticked "corrects it" with a reason, or an
        error by the value. Returns {code: reason} of the corrections."""
        corrections = {}
        for code, result in earlier.items():
            if not self.cleaned_data.get(correct_field(code)):
                self.add_error(value_field(code), services.duplicate_message(result))
                continue
            reason = (self.cleaned_data.get("correction_reason") or "").strip()
            if not reason:
                self.add_error("correction_reason", _("Please say why; it is kept in the history."))
            corrections[code] = reason
        return corrections

    def ask_to_confirm(self, token):
        """Render again with the digest of the values shown for confirmation."""
        self.data = self.data.copy()
        self.data["confirm"] = token

    def add_service_errors(self, error):
        """Put a service's ValidationError (keyed by test code) by the matching field."""
        for key, messages in error.message_dict.items():
            if key == "collected_at":
                self.add_error("collected_on", messages)
            elif value_field(key) in self.fields:
                self.add_error(value_field(key), messages)
            else:
                self.add_error(None, messages)


class CorrectResultForm(forms.Form):
    """A new value for a wrong result, with the reason kept in the history."""

    value = forms.CharField(label=_("Correct value"), max_length=40, widget=_value_input())
    unit = forms.ChoiceField(label=_("unit"))
    reason = forms.CharField(
        label=_("Why (kept in the history)"),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    confirm = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, result, **kwargs):
        super().__init__(*args, **kwargs)
        self.result = result
        self.fields["unit"].choices = [(u.unit, u.unit) for u in result.test.units.all()]
        self.fields["unit"].initial = result.unit_entered

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("value") and cleaned.get("unit"):
            try:
                services.parse_value(self.result.test, cleaned["value"], cleaned["unit"])
            except ValidationError as exc:
                for key, messages in exc.message_dict.items():
                    self.add_error("unit" if key == "unit" else "value", messages)
        return cleaned

    def ask_to_confirm(self, token):
        self.data = self.data.copy()
        self.data["confirm"] = token


class EnteredInErrorForm(forms.Form):
    """Withdraw a result that was never the child's; the reason is kept in the history."""

    reason = forms.CharField(
        label=_("Why (kept in the history)"),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReasonForm(forms.Form):
    """A worklist action on one row: review note, missed reason, or closing an extension."""

    ACTIONS = ("review", "missed", "close_extension")

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS], widget=forms.HiddenInput)
    target = forms.UUIDField(required=False, widget=forms.HiddenInput)
    item = forms.IntegerField(required=False, widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), max_length=1000)


class FamilyNoteForm(forms.Form):
    """A plain-language note the family reads beside a result or a draw (never emailed)."""

    text = forms.CharField(
        label=_("Note for the family"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 1000}),
        help_text=_("Plain words the family reads on the labs page. Never sent by email."),
    )
    reason = forms.CharField(
        label=_("Why change it (kept in the history)"),
        required=False,
        max_length=REASON_MAX,
        help_text=_("Required when you change a note: the old text stays in the history."),
    )


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
