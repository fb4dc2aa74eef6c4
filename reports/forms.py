"""The family's "Something is wrong" form: the therapy's "call now" signs, and their words."""

from django import forms
from django.utils.translation import gettext_lazy as _

from journey.portal import words

from .models import MAX_NOTE, MAX_TEXT


class ReportForm(forms.Form):
    signs = forms.MultipleChoiceField(
        label=_("Does your child have any of these now?"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    text = forms.CharField(
        label=_("What is wrong? (in your own words)"),
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": MAX_TEXT}),
    )

    def __init__(self, entries, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.entries = entries
        self.fields["signs"].choices = [
            (str(i), words.urgent_line(entry)) for i, entry in enumerate(entries)
        ]
        if not entries:
            del self.fields["signs"]

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("signs") and not cleaned.get("text", "").strip():
            message = _("Tick a sign above or tell us in a few words what is wrong.")
            self.add_error("text", message)
        return cleaned

    def chosen_entries(self):
        return [self.entries[int(i)] for i in self.cleaned_data.get("signs", [])]


class AnswerForm(forms.Form):
    note = forms.CharField(
        label=_("What the care team did"),
        required=False,
        max_length=MAX_NOTE,
        widget=forms.TextInput(attrs={"maxlength": MAX_NOTE}),
    )
