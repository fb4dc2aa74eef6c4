"""The child page's repeated rows (steps and the journey's timeline) as HTML strings, built once
per row in Python, as tracker.portal.labs_markup does for results.

A `{% for %}` body with its `{% translate %}` tags and lookups cost about as much as the rest
of the page's rendering. Every text goes through `esc` (conditional_escape), as the template's
autoescaping does; the fixed words are translated once per page. The markup is what
portal/child.html had; the template now prints the joined strings.
"""

from html import escape

from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from journey.models import Responsible


def esc(text):
    """django's conditional_escape without its lazy-argument wrapper (a few microseconds a
    call, dozens of calls a page): safe HTML as it is, anything else as escaped text."""
    if hasattr(text, "__html__"):
        return text.__html__()
    return escape(str(text))


def open_steps_html(steps):
    """The stage's open steps: title, who and by when, "Late" and "For you" tags."""
    who, by = esc(_("Who")), esc(_("By"))
    late = f'<span class="tag tag--late">{esc(_("Late"))}</span>'
    for_you = f'<span class="tag tag--you">{esc(_("For you"))}</span>'
    rows = []
    for step in steps:
        family = step.responsible == Responsible.FAMILY
        due = f' · <span class="label">{by}:</span> {esc(step.due_text)}' if step.due_text else ""
        rows.append(
            f'<li class="step{" step--family" if family else ""}">\n'
            f'  <span class="step__title">{esc(step.title)}</span>\n'
            f'  <span class="step__meta"><span class="label">{who}:</span> {esc(step.who)}{due}'
            f"</span>\n  {late if step.overdue else ''}\n  {for_you if family else ''}\n</li>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every text is escaped above


def done_steps_html(steps):
    """The stage's done steps, each with the day it was done."""
    done = esc(_("Done"))
    return mark_safe(  # noqa: S308 - every text is escaped
        "".join(
            f'<li class="step step--done"><span class="tag tag--done">✓ {done}</span> '
            f'{esc(step.title)} <span class="step__meta">{esc(step.done_text)}</span></li>'
            for step in steps
        )
    )


def timeline_html(entries):
    """The journey's stages: done / current / next / later (or how it ended), with dates."""
    rows = []
    for entry in entries:
        current = ' aria-current="step"' if entry.is_current else ""
        date = (
            f'<span class="timeline__date">{esc(entry.date_text)}</span>' if entry.date_text else ""
        )
        meaning = (
            f'<p class="timeline__meaning">{esc(entry.meaning)}</p>' if entry.shows_meaning else ""
        )
        rows.append(
            f'<li class="timeline__item timeline__item--{esc(entry.state)}"{current}>\n'
            f'  <span class="tag tag--{esc(entry.state)}">{esc(entry.tag)}</span>\n'
            f'  <span class="timeline__name">{esc(entry.name)}</span>\n'
            f"  {date}\n  {meaning}\n</li>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every text is escaped above
