"""A day in the active language's words, as `formats.date_format` writes it, without parsing
the format on every call (the family pages and the admin patient list use it).

The labs page writes about fifty days, the patient list a hundred; django.utils.dateformat
splits the format with a regular expression and calls a method per letter each time (about
an eighth of the labs page).
Here each language's format is split once into fixed text and small functions over the date;
the month and weekday names are Django's own (django.utils.dates), translated when the
language's format is first split. A format letter not listed here goes to Django's code.
"""

from django.utils import dateformat, formats
from django.utils.dates import MONTHS, MONTHS_3, MONTHS_ALT, MONTHS_AP, WEEKDAYS, WEEKDAYS_ABBR
from django.utils.translation import get_language

_SPLIT = {}  # (language, format name) -> the parts, or None: Django's code formats it


def _names(table):
    return {key: str(name) for key, name in table.items()}


def _letters():
    """Each supported format letter's function of a date (as DateFormat's method of it)."""
    months, months_3, months_ap = _names(MONTHS), _names(MONTHS_3), _names(MONTHS_AP)
    months_alt, weekdays, weekdays_abbr = (
        _names(MONTHS_ALT),
        _names(WEEKDAYS),
        _names(WEEKDAYS_ABBR),
    )
    return {
        "d": lambda v: f"{v.day:02d}",
        "j": lambda v: str(v.day),
        "m": lambda v: f"{v.month:02d}",
        "n": lambda v: str(v.month),
        "Y": lambda v: f"{v.year:04d}",
        "y": lambda v: f"{v.year % 100:02d}",
        "F": lambda v: months[v.month],
        "N": lambda v: months_ap[v.month],
        "E": lambda v: months_alt[v.month],
        "b": lambda v: months_3[v.month],
        "M": lambda v: months_3[v.month].title(),
        "l": lambda v: weekdays[v.weekday()],
        "D": lambda v: weekdays_abbr[v.weekday()],
    }


def _split(format_string):
    letters = _letters()
    parts = []
    for index, piece in enumerate(dateformat.re_formatchars.split(format_string)):
        if index % 2:
            if piece not in letters:
                return None
            parts.append(letters[piece])
        elif piece:
            parts.append(dateformat.re_escaped.sub(r"\1", piece))
    return tuple(parts)


def date_text(value, format_name="DATE_FORMAT"):
    """formats.date_format(value, format_name) for a date (or a datetime already in the
    reader's zone)."""
    key = (get_language(), format_name)
    try:
        parts = _SPLIT[key]
    except KeyError:
        parts = _SPLIT[key] = _split(formats.get_format(format_name))
    if parts is None:
        return formats.date_format(value, format_name)
    return "".join(part if type(part) is str else part(value) for part in parts)
