"""The admin patient list's rows as pre-formatted HTML, the markup Django's changelist writes.

Django's result_list builds each cell through lookup_field/display_for_field and reverse()
(~0.7 ms a row); here every URL is reversed (and escaped) once, each center's today is worked
out once, and a row is one f-string whose values go through html.escape, as Django's escape
does (format_html's lazy-aware escaping cost ~25 calls a row). The columns follow
PatientAdmin.list_display; a test compares the markup with Django's own.
"""

from html import escape

from django.contrib.admin import helpers
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_noop

from journey.dates import date_text
from journey.models import Stage

from .labels import age_label, age_limit_label, center_today

_MARKER = "999999999"
SELECT_LABEL = gettext_noop("Select this object for an action - {}")  # Django's msgid
COLUMNS = (
    "name",
    "date_of_birth",
    "age",
    "center",
    "current_stage",
    "therapy",
    "age_limit_deadline",
)


def checkbox(patient, label):
    """Django's action checkbox; `label` is SELECT_LABEL translated (once for a page)."""
    return format_html(
        '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
        helpers.ACTION_CHECKBOX_NAME,
        str(patient.pk),
        format_html(label, str(patient)),
    )


def _split(url):
    """The URL around the object id, escaped as format_html would escape it."""
    before, after = url.split(_MARKER, 1)  # the path holds the first; a query may hold more
    return escape(before), escape(after)


class PatientRows:
    """Turns a page of patients (PatientAdmin's queryset) into `<tr>` rows."""

    @staticmethod
    def handles(changelist):
        """True for the columns written here, with or without the action checkbox."""
        columns = [name for name in changelist.list_display if name != "action_checkbox"]
        return not changelist.is_popup and tuple(columns) == COLUMNS

    def __init__(self, changelist):
        self.admin = changelist.model_admin
        self.checkbox = "action_checkbox" in changelist.list_display
        site = self.admin.admin_site.name
        change = reverse(f"{site}:journey_patient_change", args=[quote(_MARKER)])
        preserved = {"preserved_filters": changelist.preserved_filters, "opts": changelist.opts}
        self.change = _split(add_preserved_filters(preserved, change))
        self.journey = _split(reverse(f"{site}:journey_journey_change", args=[_MARKER]))
        self.select_label = gettext(SELECT_LABEL) if self.checkbox else ""
        self.checkbox_name = escape(helpers.ACTION_CHECKBOX_NAME)
        self.stages = {stage.value: escape(str(stage.label)) for stage in Stage}
        self._today = {}

    def today(self, center):
        if center.pk not in self._today:
            self._today[center.pk] = center_today(center)
        return self._today[center.pk]

    def stage(self, patient):
        """The stage cell's HTML."""
        if not patient.open_stage:
            return "–"
        before, after = self.journey
        label = self.stages[patient.open_stage]
        return f'<a href="{before}{escape(str(patient.open_journey_id))}{after}">{label}</a>'

    def deadline(self, patient, today):
        therapy = getattr(patient, "_open_therapy", None)
        if not patient.open_therapy_id or therapy is None:
            return "–"
        return str(age_limit_label(patient, therapy, today) or "–")

    def checkbox_cell(self, patient):
        """Django's action checkbox cell (checkbox() below, written out)."""
        if not self.checkbox:
            return ""
        label = self.select_label.format(escape(str(patient)))
        return (
            f'<td class="action-checkbox"><input type="checkbox" name="{self.checkbox_name}" '
            f'value="{escape(str(patient.pk))}" class="action-select" aria-label="{label}"></td>'
        )

    def row(self, patient):
        today = self.today(patient.center)
        before, after = self.change
        name = escape(f"{patient.last_name}, {patient.first_name}")
        return (
            f"<tr>{self.checkbox_cell(patient)}"
            f'<th class="field-name"><a href="{before}{escape(str(quote(patient.pk)))}{after}">'
            f"{name}</a></th>"
            f'<td class="field-date_of_birth nowrap">{escape(date_text(patient.date_of_birth))}'
            f'</td><td class="field-age">{escape(age_label(patient.date_of_birth, today))}</td>'
            f'<td class="field-center nowrap">{escape(str(patient.center))}</td>'
            f'<td class="field-current_stage">{self.stage(patient)}</td>'
            f'<td class="field-therapy">{escape(patient.open_therapy_name or "–")}</td>'
            f'<td class="field-age_limit_deadline">{escape(self.deadline(patient, today))}</td>'
            "</tr>"
        )

    def html(self, patients):
        return mark_safe("".join(self.row(patient) for patient in patients))  # noqa: S308
