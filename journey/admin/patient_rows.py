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

from journey.ages import age_in_years
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
# A row as PatientChangeList reads it (values_list, open_row: the patient's open journey).
ROW_VALUES = (
    "pk",
    "first_name",
    "last_name",
    "date_of_birth",
    "center_id",
    "center__name",
    "center__time_zone",
    "open_row__id",
    "open_row__stage",
    "open_row__therapy_id",
    "open_row__therapy__name",
)
THERAPY = ROW_VALUES.index("open_row__therapy_id")


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


class _Born:
    """What age_limit reads of a patient."""

    __slots__ = ("date_of_birth",)

    def __init__(self, born):
        self.date_of_birth = born


class PatientRows:
    """Turns a page of patients (ROW_VALUES tuples) into `<tr>` rows."""

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
        self._years = {}

    def today(self, center_id, zone):
        if center_id not in self._today:
            self._today[center_id] = center_today(_Zone(zone))
        return self._today[center_id]

    def stage(self, journey_id, stage):
        """The stage cell's HTML."""
        if not stage:
            return "–"
        before, after = self.journey
        return f'<a href="{before}{escape(str(journey_id))}{after}">{self.stages[stage]}</a>'

    def deadline(self, born, therapy, today):
        """`therapy`: its age limits (patients.open_therapies); none, no deadline."""
        if therapy is None or not therapy.criteria.all():
            return "–"
        return str(age_limit_label(_Born(born), therapy, today) or "–")

    def age(self, born, today):
        """age_label, its words for two years and more (the years alone) made once a page."""
        years = age_in_years(born, today)
        if years < 2:
            return escape(age_label(born, today))
        if years not in self._years:
            self._years[years] = escape(age_label(born, today))
        return self._years[years]

    def checkbox_cell(self, pk, name):
        """Django's action checkbox cell (checkbox() below, written out); `name` is the
        patient's str()."""
        if not self.checkbox:
            return ""
        label = self.select_label.format(escape(name))
        return (
            f'<td class="action-checkbox"><input type="checkbox" name="{self.checkbox_name}" '
            f'value="{escape(str(pk))}" class="action-select" aria-label="{label}"></td>'
        )

    def row(self, values, therapies):
        pk, first, last, born, center_id, center, zone, journey, stage, therapy_id, therapy = values
        today = self.today(center_id, zone)
        before, after = self.change
        deadline = self.deadline(born, therapies.get(therapy_id), today)
        return (
            f"<tr>{self.checkbox_cell(pk, f'{first} {last}')}"
            f'<th class="field-name"><a href="{before}{escape(str(quote(pk)))}{after}">'
            f"{escape(f'{last}, {first}')}</a></th>"
            f'<td class="field-date_of_birth nowrap">{escape(date_text(born))}'
            f'</td><td class="field-age">{self.age(born, today)}</td>'
            f'<td class="field-center nowrap">{escape(center)}</td>'
            f'<td class="field-current_stage">{self.stage(journey, stage)}</td>'
            f'<td class="field-therapy">{escape(therapy or "–")}</td>'
            f'<td class="field-age_limit_deadline">{escape(deadline)}</td>'
            "</tr>"
        )

    def html(self, rows, therapies):
        """`therapies`: the open therapies by id, with their age limits prefetched."""
        return mark_safe("".join(self.row(row, therapies) for row in rows))  # noqa: S308


class _Zone:
    """What center_today reads of a center."""

    __slots__ = ("time_zone",)

    def __init__(self, zone):
        self.time_zone = zone
