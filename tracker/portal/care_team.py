"""What the labs page says about a result beside its value: whether the care team has seen it,
their note for the family, and whether the center holds it until review.

An abnormal result says "your care team has been told" until a coordinator acknowledges it
(reviews it: tracker.services.review_result), then "your care team saw this on <day>". A
center whose policy holds results outside the range (Center.result_release) shows such a
result only once reviewed: until then its row says that a result is being reviewed, without
value, range or flag, and it is left out of the charts. The staff-only review note is never
read here. Nothing is queried: the page's own queries carry the facts (reviewed_at, the
note's text, the center's choice).
"""

from dataclasses import dataclass
from html import escape

from django.utils import timezone
from django.utils.translation import gettext as _

from journey.models import ResultRelease
from tracker.models import ABNORMAL_FLAGS


@dataclass
class DrawNote:
    """A note on one draw, for the page's list of notes: its day, what was drawn, the text."""

    day_text: str
    what: str
    text: str


class CareTeamWords:
    """Formats the care team's part of each result row; the fixed words translated once."""

    def __init__(self, journey, days):
        self.holds = journey.center.result_release == ResultRelease.FLAGGED_AFTER_REVIEW
        self.days = days
        self.zone = timezone.get_current_timezone()
        self.told = escape(_("Your care team has been told about this result."))
        self.saw = _("Your care team saw this on %(day)s.")
        self.note = escape(_("Note from your care team:"))
        self.reviewing = escape(_("A result is being reviewed by your care team."))

    def held(self, result):
        """Hidden from the family until reviewed (only where the center's policy says so)."""
        return self.holds and result.flag in ABNORMAL_FLAGS and result.reviewed_at is None

    def html(self, result):
        """The acknowledgement line (abnormal results only) and the note, as escaped HTML."""
        parts = []
        if result.flag in ABNORMAL_FLAGS:
            if result.reviewed_at is None:
                line = self.told
            else:
                day = self.days.long(result.reviewed_at.astimezone(self.zone).date())
                line = escape(self.saw % {"day": day})
            parts.append(f'\n<br><span class="result__care">{line}</span>')
        text = getattr(result, "family_note_text", None)
        if text:
            parts.append(
                f'\n<br><span class="result__note"><strong>{self.note}</strong> '
                f"{escape(text)}</span>"
            )
        return "".join(parts)

    def held_item(self, row, with_day=False):
        """A held result's list item: the test's name and day, no value."""
        day = f'<span class="result__day">{escape(row.day_text)}</span><br>\n' if with_day else ""
        return (
            f"<li>{day}<strong>{escape(row.test_name)}</strong>: "
            f'<span class="result__care">{self.reviewing}</span>\n</li>'
        )


def draw_notes(rows, heading, days):
    """The notes on the journey's draws (each row carries its draw's `draw_note`), newest
    first; `heading(row)` names what the row is."""
    found = {}
    for row in rows:
        text = getattr(row, "draw_note", None)
        if text:
            found.setdefault(row.due_on, (text, []))[1].append(heading(row))
    return [
        DrawNote(days.full(day), ", ".join(what), text)
        for day, (text, what) in sorted(found.items(), reverse=True)
    ]
