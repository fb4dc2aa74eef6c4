"""Plain words for the family portal: how often, results against their range, flags, phones.

Pure functions (no database): the pages and the tests call them with plain values. Every
string is translatable; dates and numbers follow the active language (the portal activates
the guardian's own).
"""

import re
from dataclasses import dataclass

from django.utils import formats, numberformat
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from journey import dates
from journey.portal import words
from tracker.flags import BASELINE_RULES
from tracker.models import Flag, Status

# (lowest gap, highest gap, words): gaps in days between two dates of one plan item. Calendar
# months vary (28-31 days), so the bands are wide; anything else reads "every N days".
_GAP_BANDS = [
    (5, 9, "weekly"),
    (12, 16, "every_2_weeks"),
    (19, 23, "every_3_weeks"),
    (26, 35, "monthly"),
    (56, 65, "every_2_months"),
    (84, 96, "every_3_months"),
    (175, 190, "every_6_months"),
    (358, 372, "yearly"),
]


def _gap_words(key):
    return {
        "weekly": _("every week"),
        "every_2_weeks": _("every 2 weeks"),
        "every_3_weeks": _("every 3 weeks"),
        "monthly": _("every month"),
        "every_2_months": _("every 2 months"),
        "every_3_months": _("every 3 months"),
        "every_6_months": _("every 6 months"),
        "yearly": _("every year"),
    }[key]


def gap_kind(days):
    """A gap's band key, or the number of days when it fits none."""
    for low, high, key in _GAP_BANDS:
        if low <= days <= high:
            return key
    return days


def _kind_words(kind):
    if isinstance(kind, int):
        return ngettext("every %(n)s day", "every %(n)s days", kind) % {"n": kind}
    return _gap_words(kind)


# One date format per language for every family page: journey's (issue 13 item 9).
day = words.day


def runs(dates):
    """Split sorted dates into runs of one rhythm: [(kind, first date, last date)]."""
    dates = sorted(set(dates))
    if len(dates) < 2:
        return [(None, d, d) for d in dates]
    result = []
    for before, after in zip(dates, dates[1:], strict=False):
        kind = gap_kind((after - before).days)
        if result and result[-1][0] == kind:
            result[-1] = (kind, result[-1][1], after)
        else:
            result.append((kind, before, after))
    return result


def how_often(dates):
    """ "every week from Jan. 12 until Feb. 2, then every 2 weeks until Mar. 30" """
    parts = []
    for kind, first, last in runs(dates):
        if kind is None:
            parts.append(_("once, on %(date)s") % {"date": day(first)})
        elif not parts:
            parts.append(
                _("%(often)s from %(start)s until %(end)s")
                % {"often": _kind_words(kind), "start": day(first), "end": day(last)}
            )
        else:
            parts.append(
                _("then %(often)s until %(end)s") % {"often": _kind_words(kind), "end": day(last)}
            )
    return _(", ").join(parts)


def data_text(value):
    """Catalogue data (a lab name, a plan title) in the reader's language when the
    translation catalogue has it (tracker/labs/names.py lists them), else as stored."""
    return _(value) if value else value


def short_test_name(test):
    """ "ALT" from "liver test (ALT)": the words in brackets of the family name, or the code."""
    match = re.search(r"\(([^)]+)\)\s*$", test.family_name)
    return match.group(1) if match else test.code


def item_heading(title, tests):
    """ "Liver tests (ALT, AST, bilirubin, INR)" from the item title and its LabTest rows.

    Names the title already gives ("Heart test (troponin-I)") are not repeated.
    """
    names = [n for n in map(short_test_name, tests) if n.lower() not in title.lower()]
    if not names:
        return title
    return _("%(title)s (%(tests)s)") % {"title": title, "tests": _(", ").join(names)}


def number(value, places):
    if value is None:
        return ""
    return formats.number_format(value, decimal_pos=places, use_l10n=True)


class NumberWords:
    """number() for one page: the language's separators are looked up once, not per value."""

    def __init__(self):
        language = get_language()
        self._separators = [
            formats.get_format(name, language, use_l10n=True)
            for name in ("DECIMAL_SEPARATOR", "NUMBER_GROUPING", "THOUSAND_SEPARATOR")
        ]

    def __call__(self, value, places):
        if value is None:
            return ""
        decimal, grouping, thousands = self._separators
        return numberformat.format(value, decimal, places, grouping, thousands, use_l10n=True)


def factor(value):
    """A multiple as people say it: "2", "1.5" (no trailing zeros)."""
    text = f"{value.normalize():f}" if hasattr(value, "normalize") else str(value)
    places = len(text.split(".")[1]) if "." in text else 0
    return formats.number_format(value, decimal_pos=places, use_l10n=True)


def normal_range(low, high, places, unit=""):
    """ "normal range 5–51" (or "normal up to 21" / "normal from 150")."""
    if low is not None and high is not None:
        text = _("normal range %(low)s–%(high)s") % {
            "low": number(low, places),
            "high": number(high, places),
        }
    elif high is not None:
        text = _("normal up to %(high)s") % {"high": number(high, places)}
    elif low is not None:
        text = _("normal from %(low)s") % {"low": number(low, places)}
    else:
        return _("no normal range for this test")
    return f"{text} {unit}".strip() if unit else text


@dataclass(frozen=True)
class FlagText:
    """A flag as words and a symbol, so meaning never rests on colour alone."""

    css: str
    symbol: str
    words: str
    help: str = ""


def _flag_table():
    critical_help = _("The care team is told about this result right away.")
    return {
        Flag.NORMAL: FlagText("normal", "✓", _("Normal")),
        Flag.HIGH: FlagText("high", "▲", _("Higher than normal")),
        Flag.LOW: FlagText("low", "▼", _("Lower than normal")),
        Flag.CRITICAL_HIGH: FlagText("critical", "‼", _("Much higher than normal"), critical_help),
        Flag.CRITICAL_LOW: FlagText("critical", "‼", _("Much lower than normal"), critical_help),
        None: FlagText("none", "–", _("No normal range to compare with")),
    }


def _status_table():
    return {
        Status.UPCOMING: FlagText("upcoming", "○", _("Coming up")),
        Status.DUE: FlagText("due", "●", _("Due now")),
        Status.OVERDUE: FlagText(
            "overdue", "!", _("Overdue"), _("Please call the care team to book it.")
        ),
        Status.DONE: FlagText("done", "✓", _("Done")),
        Status.MISSED: FlagText("missed", "✗", _("Missed")),
        Status.CANCELLED: FlagText("cancelled", "–", _("Cancelled")),
    }


# Fixed words per language (no patient data): built once per language, not once per row.
_TABLES = {}


def _table(build):
    key = (build, get_language())
    table = _TABLES.get(key)
    if table is None:
        table = _TABLES[key] = build()
    return table


def flag_text(flag):
    table = _table(_flag_table)
    return table.get(flag) or table[None]


def status_text(status):
    """A scheduled lab's derived status as an icon and words for families."""
    return _table(_status_table)[status]


def until_words(rule):
    """How long a series with an exit rule goes on, for families: no test codes, no numbers.

    `rule` is normalised (tracker.flags.normalize_exit_rule). Only rules that all compare with
    the child's own level before the infusion read "usual level"; anything else "normal".
    """
    if all(sub["rule"] in BASELINE_RULES for sub in rule["all"]):
        return _(
            "We keep testing until the results are back to your child's usual level before "
            "the infusion."
        )
    return _("We keep testing until the results are back to normal.")


def x_uln_words(x_uln):
    return _("%(x)s times the top of the normal range") % {"x": factor(x_uln)}


class DayWords:
    """Dates in words for one page, each date formatted once (a page repeats its days)."""

    def __init__(self):
        self._long = {}
        self._full = {}

    def long(self, value):
        """ "Feb. 3, 2026" (the language's DATE_FORMAT)."""
        text = self._long.get(value)
        if text is None:
            text = self._long[value] = day(value)
        return text

    def full(self, value):
        """ "Tuesday, Feb. 3, 2026": the weekday, then the long date."""
        text = self._full.get(value)
        if text is None:
            weekday = dates.date_text(value, "l")
            text = self._full[value] = f"{weekday}, {self.long(value)}"
        return text
