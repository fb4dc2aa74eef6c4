"""The labs and plan pages' repeated rows as HTML strings, built once per row in Python.

A child in follow-up has hundreds of results; one template `{% for %}` body per result (a dozen
variable lookups, filters and `{% translate %}` tags each) cost more than the rest of the page.
Here each row is one f-string; every text goes through `html.escape` (as django's `escape`
does), the fixed words are translated once per page. The markup is what labs.html had; the
template now prints the joined strings.
"""

from html import escape

from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from journey.portal.markup import esc


class RowMarkup:
    """Formats ResultRows as list items (results by day) and table rows (under each chart)."""

    def __init__(self, care=None):
        self.care = care  # care_team.CareTeamWords: a held row's item, without its value
        self.before = escape(_("before treatment"))
        self.corrected = _("corrected by the care team on %(day)s")
        self.preliminary = escape(_("preliminary: the lab may still change it"))

    def flag(self, row):
        flag = row.flag
        return (
            f'<span class="flag flag--{flag.css}"><span aria-hidden="true">{flag.symbol}</span> '
            f"{escape(flag.words)}</span>"
        )

    def item(self, row, with_day=False):
        """One result in the day's list: name, value, range, flag in words and tags (and its
        day, for the latest results)."""
        if row.held:
            return mark_safe(self.care.held_item(row, with_day))  # noqa: S308 - escaped there
        day = f'<span class="result__day">{escape(row.day_text)}</span><br>\n' if with_day else ""
        parts = [
            f"<li>{day}<strong>{escape(row.test_name)}</strong>: {escape(row.value)} "
            f'<span class="result__range">— {escape(row.range)}</span><br>\n{self.flag(row)}'
        ]
        if row.x_uln:
            parts.append(f'\n<span class="result__xuln">({escape(row.x_uln)})</span>')
        if row.preliminary:
            parts.append(f'\n<span class="tag tag--preliminary">{self.preliminary}</span>')
        if row.before_treatment:
            parts.append(f'\n<span class="tag">{self.before}</span>')
        if row.corrected:
            corrected = escape(self.corrected % {"day": row.corrected})
            parts.append(f'\n<span class="tag">{corrected}</span>')
        if row.flag.help:
            parts.append(f'\n<br><span class="result__help">{escape(row.flag.help)}</span>')
        parts.append(row.care_team)  # escaped HTML (care_team.CareTeamWords.html)
        parts.append("\n</li>")
        return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above

    def table_row(self, row):
        """One row of a chart's table: date, result, normal range, what it means (a held
        row is in no chart)."""
        if row.held:
            return ""
        before = f" ({self.before})" if row.before_treatment else ""
        x_uln = f" ({escape(row.x_uln)})" if row.x_uln else ""
        preliminary = f" ({self.preliminary})" if row.preliminary else ""
        flag = row.flag
        return mark_safe(  # noqa: S308 - every text is escaped
            f'<tr>\n<th scope="row">{escape(row.day_text)}{before}</th>\n'
            f"<td>{escape(row.value)}{preliminary}</td>\n<td>{escape(row.range)}</td>\n"
            f'<td><span aria-hidden="true">{flag.symbol}</span> {escape(flag.words)}{x_uln}</td>\n'
            "</tr>"
        )


def date_group(group):
    """One draw (a DateGroup, its words set) as the plan and labs pages list it: its status in
    words and a symbol, its day, where, its window, what to do, and the tests."""
    status = group.status_text
    parts = [
        f'<li class="date-group date-group--{status.css}">\n  <p class="date-group__when">'
        f'<span class="status status--{status.css}"><span aria-hidden="true">{status.symbol}'
        f"</span> {escape(status.words)}</span>\n    <strong>{escape(group.when)}</strong></p>"
    ]
    if group.where:
        # As {% blocktranslate %} does: the place escaped, the translated words as they are.
        where = _("Where: %(place)s") % {"place": escape(group.where)}
        parts.append(f'\n  <p class="date-group__where">{where}</p>')
    if group.window:
        parts.append(f'\n  <p class="date-group__window">{escape(group.window)}</p>')
    if status.help:
        parts.append(f'\n  <p class="date-group__help">{escape(status.help)}</p>')
    headings = "".join(f"<li>{escape(heading)}</li>" for heading in group.headings)
    parts.append(f'\n  <ul class="date-group__what">{headings}</ul>\n</li>')
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above


def join_html(parts):
    """Rows built here, joined as one safe string."""
    return mark_safe("\n".join(parts))  # noqa: S308 - each part built and escaped here


def plan_lines_html(lines):
    """Set each PlanLine's list item (`line.html`), as the plan page lists them: the fixed
    words translated once per page, every text escaped as the template's autoescaping does."""
    hospital = esc(_("(in the hospital)"))
    added = esc(_("These tests were added to because a result was not back to normal yet."))
    for_life = esc(_("This goes on for life."))
    for line in lines:
        until = esc(line.until)
        more = f"{added} {until}" if line.extended else (until if line.may_continue else "")
        line.html = mark_safe(  # noqa: S308 - every text is escaped
            f'<li class="plan-line"><strong>{esc(line.heading)}</strong>'
            f"{' ' + hospital if line.inpatient else ''}: {esc(line.often)}.\n"
            f"  {more}\n  {for_life if line.lifelong else ''}</li>"
        )
    return lines


def call_now_html(context):
    """The plan page's "call right away" box: the therapy's signs (or the plain advice), the
    day and night numbers, and when to call the emergency number."""
    name = {"name": escape(context["child"].first_name)}
    signs = context["urgent_symptoms"]
    if signs:
        items = "".join(f"<li>{esc(line)}</li>" for line in signs)
        listed = f'<ul class="call-now__list">{items}</ul>'
    else:
        advice = _(
            "Call if anything about your child worries you. "
            "You never bother the care team by calling."
        )
        listed = f"<p>{esc(advice)}</p>"
    title = _("Call the care team right away if %(name)s has any of these") % name
    emergency = (
        _(
            "Call 911 (or your local emergency number) now if %(name)s has trouble breathing or "
            "will not wake up."
        )
        % name
    )
    return mark_safe(  # noqa: S308 - every text is escaped
        '<section class="call-now" aria-labelledby="call-now-title">\n'
        f'  <h2 id="call-now-title">{title}</h2>\n  {listed}\n  <p class="call-now__phones">\n'
        f"    <span>{esc(_('Daytime'))}: "
        f'<a href="{esc(context["main_phone_href"])}">'
        f"<strong>{esc(context['main_phone'])}</strong></a></span><br>\n"
        f"    <span>{esc(_('Nights, weekends and holidays'))}: "
        f'<a href="{esc(context["after_hours_phone_href"])}">'
        f"<strong>{esc(context['after_hours_phone'])}</strong></a></span>\n  </p>\n"
        f'  <p class="call-now__emergency"><strong>{emergency}</strong></p>\n</section>'
    )
