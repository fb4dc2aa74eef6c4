"""The worklist's whole page as one HTML string: journey.admin.frame's page around the
content of templates/admin/tracker/_worklist_content.html, written in Python.

The template loop over fourteen sections and the admin's template chain took ~2 ms a page,
more than the lists' rows. Every value is escaped as the templates' autoescaping did, and
numbers go through localize; a section of another app keeps its own template. The templates
stay for right-to-left languages, and a test compares this page with them.
"""

import functools

from django.conf import settings
from django.template.loader import get_template
from django.utils.formats import localize
from django.utils.html import conditional_escape as esc
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext

from journey.admin import frame
from journey.admin.frame import admin_url, app_link, home_link

from . import worklist_rows

TEMPLATE = "admin/tracker/worklist_page.html"  # {{ worklist_page }}
FALLBACK = "admin/tracker/worklist.html"


def handles():
    return frame.handles()


def page_html(context, request):
    """The page: the admin's frame, the tracker's breadcrumbs and the lists."""
    title = esc(context["title"])
    breadcrumbs = f"{home_link()} &rsaquo; {app_link(context['opts'])} &rsaquo; {title}"
    page = frame.Page(breadcrumbs=breadcrumbs, content=(content_html(context, request),))
    return frame.page_html(context, request, page)


def content_html(context, request):
    """_worklist_content.html: the day, the counts and each section with its rows."""
    sections = context["sections"]
    day = esc(context["today"].isoformat())
    per_page = esc(localize(context["per_page"]))
    most_urgent = gettext(
        "Each list shows its %(n)s most urgent rows first; the count is the whole list."
    )
    csv = esc(admin_url("tracker_worklist_csv"))
    titles = [esc(e.page.title) for e in sections]  # each translated once
    counts = "".join(
        f'<li><a href="#{esc(e.page.key)}">{title}</a>: '
        f"<strong>{_number(e.page.count)}</strong></li>"
        for e, title in zip(sections, titles, strict=True)
    )
    shared = {"patient_link": context["patient_link"], "entry_link": context["entry_link"]}
    return mark_safe(  # noqa: S308 (every value escaped)
        f'<div id="content-main" class="worklist"><p>'
        f"{gettext('As of %(day)s.') % {'day': day}} {most_urgent % {'n': per_page}}</p>"
        f'<ul class="object-tools"><li><a href="{csv}" class="viewlink" download>'
        f"{esc(gettext('Download CSV'))}</a></li></ul>"
        f'<nav aria-label="{esc(gettext("Worklist sections"))}">'
        f'<ul class="worklist-counts">{counts}</ul></nav>'
        f"{''.join(_section(e, t, shared, request) for e, t in zip(sections, titles, strict=True))}"
        "</div>"
    )


def _section(entry, title, shared, request):
    page = entry.page
    return (
        f'<div class="module" id="{esc(page.key)}">'
        f"<h2>{title} ({_number(page.count)})</h2>"
        f"{_rows(entry, shared, request)}{entry.pager}</div>"
    )


def _rows(entry, shared, request):
    page = entry.page
    if entry.table:
        headings = _headings(page.key, get_language())
        return (
            f'<table class="wide-table"><thead><tr>{headings}</tr></thead>'
            f"<tbody>{entry.body}</tbody></table>"
        )
    if page.rows or not page.section.empty:
        return get_template(page.template).render({**shared, "rows": page.rows}, request)
    return f'<p class="worklist-empty">{esc(page.section.empty)}</p>'


def _number(value):
    """{{ count }}: localize's answer, which for an int without thousand separators is the
    int's digits (localize looks up the format settings on every call)."""
    if type(value) is int and not settings.USE_THOUSAND_SEPARATOR:
        return str(value)
    return esc(localize(value))


@functools.lru_cache(maxsize=64)
def _headings(key, language):
    """A tracker table's heading cells in the language: words of code, made once."""
    headings = worklist_rows.TABLES[key].headings
    return "".join(f"<th>{esc(heading)}</th>" for heading in headings)
