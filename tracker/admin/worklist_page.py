"""The worklist's whole page as one HTML string: journey.admin.frame's page around the
content of templates/admin/tracker/_worklist_content.html, written in Python.

The template loop over fourteen sections and the admin's template chain took ~2 ms a page,
more than the lists' rows. Every value is escaped as the templates' autoescaping did, and
numbers go through localize; a section of another app keeps its own template. The templates
stay for right-to-left languages, and a test compares this page with them.
"""

from django.template.loader import get_template
from django.utils.formats import localize
from django.utils.html import conditional_escape as esc
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from journey.admin import frame
from journey.admin.frame import admin_url, app_link, home_link

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
    counts = "".join(
        f'<li><a href="#{esc(e.page.key)}">{esc(e.page.title)}</a>: '
        f"<strong>{_number(e.page.count)}</strong></li>"
        for e in sections
    )
    shared = {"patient_link": context["patient_link"], "entry_link": context["entry_link"]}
    return mark_safe(  # noqa: S308 (every value escaped)
        f'<div id="content-main" class="worklist"><p>'
        f"{gettext('As of %(day)s.') % {'day': day}} {most_urgent % {'n': per_page}}</p>"
        f'<ul class="object-tools"><li><a href="{csv}" class="viewlink" download>'
        f"{esc(gettext('Download CSV'))}</a></li></ul>"
        f'<nav aria-label="{esc(gettext("Worklist sections"))}">'
        f'<ul class="worklist-counts">{counts}</ul></nav>'
        f"{''.join(_section(entry, shared, request) for entry in sections)}</div>"
    )


def _section(entry, shared, request):
    page = entry.page
    return (
        f'<div class="module" id="{esc(page.key)}">'
        f"<h2>{esc(page.title)} ({_number(page.count)})</h2>"
        f"{_rows(entry, shared, request)}{entry.pager}</div>"
    )


def _rows(entry, shared, request):
    page = entry.page
    if entry.table:
        headings = "".join(f"<th>{esc(heading)}</th>" for heading in entry.table.headings)
        return (
            f'<table class="wide-table"><thead><tr>{headings}</tr></thead>'
            f"<tbody>{entry.body}</tbody></table>"
        )
    if page.rows or not page.section.empty:
        return get_template(page.template).render({**shared, "rows": page.rows}, request)
    return f'<p class="worklist-empty">{esc(page.section.empty)}</p>'


def _number(value):
    return esc(localize(value))
