"""The worklist's own tables as pre-formatted HTML rows: one template loop, no per-row work there.

Each table names the fields its rows need (tracker.services.worklist fetches just those, as
dicts) and turns one row into its `<tr>`: every value escaped by format_html, dates and links
formatted here once. Sections other apps register keep their own templates.
"""

import functools
import html
import zoneinfo
from dataclasses import dataclass

from django.middleware.csrf import get_token
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from journey.portal.markup import esc as conditional_escape

from ..holds import hold_text
from ..models import Flag

PATIENT = ("journey__patient_id", "journey__patient__first_name", "journey__patient__last_name")
# A draw row also holds journey_id, due_on, opens_on, closes_on, tests, labs and in_hospital
# (tracker.services.worklist_pages._draw).
DRAW = PATIENT
_MARKER = "999999999"
_UUID_MARKER = "99999999-9999-4999-8999-999999999999"


@dataclass(frozen=True)
class Table:
    """What one section's table shows: its headings, the fields a row needs, the empty line."""

    headings: tuple
    fields: tuple
    row: object  # (links, row dict) -> its cells: text, safe HTML, or (css class, either)
    empty: str  # the line shown when the section has no rows (lazy)

    def body(self, links, rows):
        """The table's `<tr>` rows as one safe string."""
        if not rows:
            return format_html('<tr><td colspan="{}">{}</td></tr>', len(self.headings), self.empty)
        return mark_safe("".join(_tr(self.row(links, row)) for row in rows))  # noqa: S308  (format_html)


def escape(value):
    """Django's escape (html.escape of the text), without keep_lazy's look at every argument
    (~1,000 calls a page)."""
    return html.escape(str(value))


def _tr(cells):
    """One row: each cell escaped unless it is safe HTML already (conditional_escape), put
    together with plain string joins (format_html per cell cost more than the query)."""
    return "<tr>" + "".join(map(_td, cells)) + "</tr>"


def _td(cell):
    if isinstance(cell, tuple):
        css, content = cell
        return f'<td class="{escape(css)}">{conditional_escape(content)}</td>'
    return f"<td>{conditional_escape(cell)}</td>"


class Links:
    """URLs and form pieces every row reuses, made once per page."""

    def __init__(self, request, site_name):
        self.patient = _split(_url(f"{site_name}:journey_patient_change", _MARKER))
        self.review = _split(_url(f"{site_name}:tracker_label_review", _MARKER))
        self.entry = _split(_url(f"{site_name}:tracker_enter_results", _MARKER))
        self._result_note = _split(_url(f"{site_name}:tracker_labresult_note", _MARKER))
        self._draw_note = _url(f"{site_name}:tracker_draw_note", _UUID_MARKER)
        self._words = {}
        self.note_label = escape(_("Note for the family"))
        self.now = timezone.now()
        self._entry_html = tuple(escape(part) for part in self.entry)
        self._patient_html = tuple(escape(part) for part in self.patient)
        self.entry_label = escape(_("Enter results"))
        self.csrf = format_html(
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request)
        )

    def patient_cell(self, row, path="journey__patient"):
        before, after = self._patient_html
        name = escape(f"{row[path + '__first_name']} {row[path + '__last_name']}")
        return mark_safe(f'<a href="{before}{int(row[path + "_id"])}{after}">{name}</a>')  # noqa: S308

    def entry_link(self, row):
        """Result entry for this draw: the journey's page with the draw's day filled in (an
        int and a date: nothing to escape)."""
        before, after = self._entry_html
        href = f"{before}{int(row['journey_id'])}{after}?due={row['due_on'].isoformat()}"
        return mark_safe(f'<a href="{href}">{self.entry_label}</a>')  # noqa: S308

    def result_note_link(self, row):
        before, after = self._result_note
        href = escape(f"{before}{int(row['pk'])}{after}")
        return mark_safe(f'<a href="{href}">{self.note_label}</a>')  # noqa: S308

    def draw_note_link(self, row):
        """The family's note on this draw, through its first lab (a uuid: nothing to escape)."""
        href = escape(self._draw_note.replace(_UUID_MARKER, str(row["labs"][0])))
        return mark_safe(f'<a href="{href}">{self.note_label}</a>')  # noqa: S308

    def word(self, message):
        """`message` translated, once a page (the rows repeat a few words)."""
        found = self._words.get(message)
        if found is None:
            found = self._words[message] = _(message)
        return found

    def form(self, action, target_name, target, label, placeholder):
        """A row's POST form: the action, its target(s), a required note and the button
        (label and placeholder are messages, translated by word()). Every value is escaped
        here; the pieces are joined as plain strings."""
        targets = target if isinstance(target, list) else [target]
        name = escape(target_name)
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{escape(t)}">' for t in targets
        )
        placeholder, label = escape(self.word(placeholder)), escape(self.word(label))
        return mark_safe(  # noqa: S308
            f'<form method="post">{self.csrf}<input type="hidden" name="action" '
            f'value="{escape(action)}">{hidden}<input type="text" name="note" required '
            f'maxlength="1000" placeholder="{placeholder}" aria-label="{placeholder}">'
            f'<input type="submit" value="{label}"></form>'
        )


def _url(name, marker):
    """The URL of `name` for the marker argument, reversed once per process and URLconf."""
    return _reversed(get_urlconf(), get_script_prefix(), name, marker)


@functools.lru_cache(maxsize=64)
def _reversed(urlconf, prefix, name, marker):
    return reverse(name, args=[marker], urlconf=urlconf)


def _split(url):
    before, after = url.split(_MARKER, 1)  # the path holds the first; a query may hold more
    return before, after


def _local(value, zone, pattern="%Y-%m-%d %H:%M"):
    """An instant as the center's wall clock (the nurse's and the lab's time)."""
    return timezone.localtime(value, zoneinfo.ZoneInfo(zone)).strftime(pattern) if value else ""


# The forms' words (translated once a page: Links.word).
MISSED, WHY, REVIEWED = gettext_noop("Missed"), gettext_noop("why"), gettext_noop("Reviewed")
STAFF_NOTE, CLOSE = gettext_noop("staff note"), gettext_noop("Close")


def _tests(links, row):
    what = ", ".join(row["tests"])
    return f"{what} ({links.word(IN_HOSPITAL)})" if row["in_hospital"] else what


IN_HOSPITAL = gettext_noop("in hospital")


def _overdue(links, row):
    return (
        links.patient_cell(row),
        _tests(links, row),
        row["due_on"].isoformat(),
        row["closes_on"].isoformat(),
        _entry_and_note(links, row),
        links.form("missed", "target", row["labs"], MISSED, WHY),
    )


def _due_soon(links, row):
    window = f"{row['opens_on'].isoformat()} – {row['closes_on'].isoformat()}"
    return (
        links.patient_cell(row),
        _tests(links, row),
        row["due_on"].isoformat(),
        window,
        _entry_and_note(links, row),
    )


def _entry_and_note(links, row):
    return mark_safe(f"{links.entry_link(row)} · {links.draw_note_link(row)}")  # noqa: S308


def _acknowledge(links, row):
    """By when the care team should have seen it; an overdue one says so (not by colour only)."""
    due = row["acknowledge_by"]
    if due is None:
        return ""
    when = _local(due, row["journey__center__time_zone"])
    if due < links.now:
        return ("ack-overdue", _("overdue since %(when)s") % {"when": when})
    return when


def _result_text(row):
    parts = [f"{formats.localize(row['value'].normalize())} {row['unit']}", Flag(row["flag"]).label]
    if row["x_uln"]:
        parts.append(f"{formats.localize(row['x_uln'])} × ULN")
    if row["at_2x_uln"]:
        parts.append(_("≥ 2× ULN (taper rule)"))
    if row["at_1_5x_baseline"]:
        parts.append(_("≥ 1.5× baseline"))
    return " · ".join(str(part) for part in parts)


def _review(links, row):
    collected = _local(row["collected_at"], row["journey__center__time_zone"])
    return (
        links.patient_cell(row),
        row["test__family_name"],
        (f"flag-{row['flag']}", _result_text(row)),
        collected,
        _acknowledge(links, row),
        links.form("review", "target", row["public_id"], REVIEWED, STAFF_NOTE),
        links.result_note_link(row),
    )


def _extended(links, row):
    title, holds = row["title"], row["held_open_by"]
    if holds:
        tests = "; ".join(hold_text(hold) for hold in holds)
        title = _("%(title)s extended: %(tests)s") % {"title": title, "tests": tests}
    return (
        links.patient_cell(row, "plan__journey__patient"),
        title,
        _local(row["extended_at"], row["plan__journey__center__time_zone"], "%Y-%m-%d"),
        links.form("close_extension", "item", row["pk"], CLOSE, WHY),
    )


def _label_review(links, row):
    before, after = links.review
    link = format_html('<a href="{}{}{}">{}</a>', before, row["pk"], after, _("Review plan"))
    return (links.patient_cell(row), row["therapy__name"], row["label_as_of"].isoformat(), link)


TABLES = {
    "overdue": Table(
        (
            gettext_lazy("Patient"),
            gettext_lazy("What"),
            gettext_lazy("Due"),
            gettext_lazy("Window closed"),
            gettext_lazy("Results"),
            gettext_lazy("Close as missed"),
        ),
        DRAW,
        _overdue,
        gettext_lazy("Nothing overdue."),
    ),
    "review": Table(
        (
            gettext_lazy("Patient"),
            gettext_lazy("Test"),
            gettext_lazy("Result"),
            gettext_lazy("Collected"),
            gettext_lazy("Acknowledge by"),
            gettext_lazy("Mark reviewed"),
            gettext_lazy("Family"),
        ),
        (
            *PATIENT,
            "public_id",
            "acknowledge_by",
            "test__family_name",
            "value",
            "unit",
            "flag",
            "x_uln",
        )
        + ("at_2x_uln", "at_1_5x_baseline", "collected_at", "journey__center__time_zone"),
        _review,
        gettext_lazy("No results waiting."),
    ),
    "extended": Table(
        (
            gettext_lazy("Patient"),
            gettext_lazy("Item"),
            gettext_lazy("Extended since"),
            gettext_lazy("Close"),
        ),
        ("plan__journey__patient_id", "plan__journey__patient__first_name")
        + ("plan__journey__patient__last_name", "title", "held_open_by", "extended_at")
        + ("plan__journey__center__time_zone",),
        _extended,
        gettext_lazy("No extended plans."),
    ),
    "due-soon": Table(
        (
            gettext_lazy("Patient"),
            gettext_lazy("What"),
            gettext_lazy("Due"),
            gettext_lazy("Window"),
            gettext_lazy("Results"),
        ),
        DRAW,
        _due_soon,
        gettext_lazy("Nothing due this week."),
    ),
    "label-review": Table(
        (
            gettext_lazy("Patient"),
            gettext_lazy("Therapy"),
            gettext_lazy("Label of"),
            gettext_lazy("Review"),
        ),
        (*PATIENT, "therapy__name", "label_as_of"),
        _label_review,
        gettext_lazy("No label changes to review."),
    ),
}
