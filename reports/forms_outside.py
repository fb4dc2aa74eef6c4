"""The family's "Result from another lab" form and the coordinator's check of it."""

import zoneinfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tracker.models import LabTest, LabUnit
from tracker.services import confirm_token, entry_warnings

from . import outside
from .models_outside import MAX_FILE_NAME, MAX_LAB_NAME, MAX_VALUE, MAX_VERIFY_NOTE

TYPED = ["test", "value", "unit", "collected_on"]


class TestChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.family_name or obj.name


def _unit_choices():
    units = LabUnit.objects.order_by("unit").values_list("unit", flat=True).distinct()
    return [("", "---------")] + [(u, u) for u in units]


def _add_errors(form, exc):
    for name, messages in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, messages)


class TypedResultForm(forms.Form):
    """Test, value, unit and day, checked exactly like the care team's entry."""

    test = TestChoice(
        label=_("Test"), queryset=LabTest.objects.order_by("position", "code"), required=False
    )
    value = forms.CharField(
        label=_("Value"),
        required=False,
        max_length=MAX_VALUE,
        widget=forms.TextInput(attrs={"maxlength": MAX_VALUE, "inputmode": "decimal"}),
    )
    unit = forms.ChoiceField(label=_("Unit"), required=False)
    collected_on = forms.DateField(
        label=_("Date of the blood test"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, journey, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.journey = journey
        self.fields["unit"].choices = _unit_choices()

    def typed(self):
        return any(self.cleaned_data.get(name) not in (None, "") for name in TYPED)

    def check_typed(self):
        """Every part present, then the staff entry's checks; errors by the field."""
        missing = [name for name in TYPED if self.cleaned_data.get(name) in (None, "")]
        for name in missing:
            if name not in self.errors:
                self.add_error(name, _("Fill this in too, or leave the whole result empty."))
        if missing or self.errors:
            return
        data = self.cleaned_data
        try:
            outside.check_typed(
                self.journey,
                data["test"],
                data["value"],
                data["unit"],
                data["collected_on"],
                timezone.now(),
            )
        except ValidationError as exc:
            _add_errors(self, exc)


class OutsideResultForm(TypedResultForm):
    lab_name = forms.CharField(
        label=_("Lab name"),
        required=False,
        max_length=MAX_LAB_NAME,
        widget=forms.TextInput(attrs={"maxlength": MAX_LAB_NAME}),
    )
    upload = forms.FileField(
        label=_("Photo or PDF of the lab report"),
        required=False,
        max_length=MAX_FILE_NAME,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}),
    )

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("upload")
        if upload:
            try:
                outside.upload_type(upload)
            except ValidationError as exc:
                _add_errors(self, exc)
        if self.typed():
            self.check_typed()
        elif not upload and "upload" not in self.errors:
            message = _("Type the result, or add a photo or PDF of the lab report.")
            self.add_error("test", message)
        return cleaned


class Decision:
    VERIFY = "verify"
    REJECT = "reject"


class CheckForm(TypedResultForm):
    """The coordinator records the result (as sent, or corrected) or rejects the report."""

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (Decision.VERIFY, _("Record this result (as sent, or with my corrections)")),
            (Decision.REJECT, _("Reject: it does not count")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Why (needed to correct or reject)"),
        required=False,
        max_length=MAX_VERIFY_NOTE,
        widget=forms.TextInput(attrs={"maxlength": MAX_VERIFY_NOTE}),
    )
    # The digest of the values the page asked to confirm (tracker.services.confirm_token).
    confirm = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    field_order = ["decision", *TYPED, "note"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == Decision.VERIFY:
            self.check_typed()
        return cleaned

    def warnings(self):
        """As the care team's own entry: a likely unit slip or a critical value asks to
        confirm once ([] when confirmed or nothing to ask)."""
        if self.cleaned_data.get("decision") != Decision.VERIFY:
            return []
        data = self.cleaned_data
        rows = [(data["test"].code, data["value"], data["unit"])]
        zone = zoneinfo.ZoneInfo(self.journey.center.time_zone)
        collected_at = outside.collected_at_for(data["collected_on"], zone, timezone.now())
        found = entry_warnings(self.journey, collected_at, rows)
        token = confirm_token(collected_at, rows, found)
        if not found or data.get("confirm") == token:
            return []
        self.data = self.data.copy()
        self.data["confirm"] = token
        return [line for lines in found.values() for line in lines]
