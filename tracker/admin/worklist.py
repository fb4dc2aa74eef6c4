"""The coordinator's worklist in the admin: its lists on one page, their CSV, and the actions
taken from a row (mark a result reviewed, a lab missed, close an extension; each with a note).

Thin: tracker.services.worklist builds the lists within the user's centers; the actions
fetch their object within the user's centers (404 otherwise) and call tracker.services.
"""

import uuid
from dataclasses import dataclass
from functools import partial

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from journey import access

from .. import export, services
from ..forms import ReasonForm
from ..models import LabResult, PlanItem, ScheduledLab, Worklist
from ..services import worklist, worklist_plan
from . import worklist_page, worklist_rows
from .common import center_today
from .followup_report import follow_up_report_view
from .results import ScheduledLabAdmin


@admin.register(Worklist)
class WorklistAdmin(ScheduledLabAdmin):
    """The coordinator's worklist; its "list" page is the worklist itself."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("tracker.view_scheduledlab")

    def get_urls(self):
        csv_view = self.admin_site.admin_view(self.csv_view)
        report = self.admin_site.admin_view(partial(follow_up_report_view, self))
        return [
            path("csv/", csv_view, name="tracker_worklist_csv"),
            path("follow-up/<uuid:center_id>/", report, name="tracker_follow_up_report"),
            *super().get_urls(),
        ]

    def csv_view(self, request):
        """The worklist as one CSV (tracker.export), scoped like the page."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = center_today(request.user)
        body = export.worklist_csv(request.user, today)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        filename = f"worklist-{today.isoformat()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "private, no-store"
        return response

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self._act(request)
        context = self._context(request)
        if not worklist_page.handles():
            return TemplateResponse(request, worklist_page.FALLBACK, context)
        context["worklist_page"] = worklist_page.page_html(context, request)
        return TemplateResponse(request, worklist_page.TEMPLATE, context)

    def _context(self, request):
        """Every section's count and one page of its rows (?<section key>=<page> or =all)."""
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Worklist"),
            "is_nav_sidebar_enabled": False,  # no app list to build: the lists need the width
            **self._lists_context(request),
        }

    def _lists_context(self, request):
        """The tracker's own tables come as pre-formatted rows (worklist_rows); sections of
        other apps keep their templates, with the patient link to reuse."""
        user, today, query = request.user, center_today(request.user), request.GET
        pages = worklist_plan.pages_for(
            user,
            worklist.WorklistTime.current(today),
            lambda section: worklist.page_number(query.get(section.key)),
            _fields,
        )
        links = worklist_rows.Links(request, self.admin_site.name)
        return {
            "today": today,
            "sections": _with_links(pages, links),
            "per_page": worklist.PER_PAGE,
            "patient_link": links.patient,
            "entry_link": links.entry,
        }

    def _act(self, request):
        """POST: mark a result reviewed, a lab missed, or close an extension (with a note)."""
        form = ReasonForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Write a note before saving."))
            return redirect(request.get_full_path())
        data, user = form.cleaned_data, request.user
        data["targets"] = request.POST.getlist("target")  # a draw's form names each of its labs
        try:
            _WORKLIST_ACTIONS[data["action"]](user, data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Saved."))
        return redirect(request.get_full_path())


def _table(section):
    """The section's pre-formatted table, or None for a section with its own template."""
    return None if section.template else worklist_rows.TABLES[section.key]


def _fields(section):
    """What a pre-formatted table's rows need (dicts), or None: model instances. A draw
    section with its own template gets draw dicts with the patient's name."""
    table = _table(section)
    if table:
        return table.fields
    return worklist_rows.DRAW if section.draw_order else None


def _body(page, links):
    table = _table(page.section)
    return table.body(links, page.rows) if table else ""


def _with_links(pages, links):
    """Each page with the links of its pager; the other sections keep the page they show."""
    shown = {p.key: worklist.ALL if p.shows_all else str(p.number) for p in pages if p.number != 1}

    def link(page, number):
        query = QueryDict(mutable=True)
        query.update({key: value for key, value in shown.items() if key != page.key})
        if number != 1:
            query[page.key] = worklist.ALL if number == 0 else str(number)
        return f"?{query.urlencode()}#{page.key}"

    def pager(page):
        """The pager's links; none for a section on one page (it shows no pager)."""
        if not (page.shows_all or page.num_pages > 1):
            return {"previous_url": "", "next_url": "", "all_url": "", "first_url": ""}
        return {
            "previous_url": link(page, page.number - 1) if page.has_previous else "",
            "next_url": link(page, page.number + 1) if page.has_next else "",
            "all_url": link(page, 0),
            "first_url": link(page, 1),
        }

    found = []
    for page in pages:
        urls = pager(page)
        body, table = _body(page, links), _table(page.section)
        found.append(WorklistPage(page, **urls, table=table, body=body, pager=_pager(page, urls)))
    return found


def _pager(page, urls):
    """The pager's markup: the rows shown and the links (none for a section on one page)."""
    if page.shows_all:
        text = ngettext(
            "The whole list: %(counter)s row.", "The whole list: %(counter)s rows.", page.count
        ) % {"counter": page.count}
        first = ""
        if page.count > page.per_page:
            label = _("Show the first %(n)s only") % {"n": page.per_page}
            first = format_html('<a href="{}">{}</a>', urls["first_url"], label)
        return format_html('<p class="paginator worklist-pager">{} {}</p>', text, first)
    if page.num_pages <= 1:
        return ""
    numbers = {"first": page.first_index, "last": page.last_index, "total": page.count}
    numbers.update(number=page.number, pages=page.num_pages)
    text = _("Rows %(first)s–%(last)s of %(total)s (page %(number)s of %(pages)s).") % numbers
    return format_html(
        '<nav class="paginator worklist-pager" aria-label="{}">{} {}{}<a href="{}">{}</a></nav>',
        _("Pages of “%(title)s”") % {"title": page.title},
        text,
        _link(urls["previous_url"], "prev", _("Previous page")),
        _link(urls["next_url"], "next", _("Next page")),
        urls["all_url"],
        _("Show all %(total)s") % {"total": page.count},
    )


def _link(url, rel, label):
    return format_html('<a href="{}" rel="{}">{}</a> ', url, rel, label) if url else ""


@dataclass(frozen=True)
class WorklistPage:
    """A section's page as the template shows it: the rows, the total and the pager links."""

    page: worklist.SectionPage
    previous_url: str
    next_url: str
    all_url: str
    first_url: str
    table: worklist_rows.Table | None = None  # None: the section's own template
    body: str = ""  # the table's rows, pre-formatted
    pager: str = ""  # the pager's markup (_pager)


def _review(user, data):
    queryset = access.scope_to_centers(LabResult.objects.all(), user, "journey__center")
    result = get_object_or_404(queryset, public_id=data["target"])
    services.review_result(result, by=user, note=data["note"])


def _missed(user, data):
    """Close every lab of a draw as missed, together: one outside the user's centers is a
    404 and nothing is saved."""
    queryset = access.scope_to_centers(ScheduledLab.objects.all(), user, "journey__center")
    targets = _uuids(data["targets"])
    if not targets:
        raise ValidationError(_("This row is no longer on the worklist; reload it."))
    with transaction.atomic():
        for target in targets:
            lab = get_object_or_404(queryset, public_id=target)
            services.mark_missed(lab, by=user, reason=data["note"])


def _uuids(values):
    try:
        return [uuid.UUID(value) for value in values[:50]]
    except ValueError as exc:
        raise ValidationError(_("This row is no longer on the worklist; reload it.")) from exc


def _close_extension(user, data):
    queryset = access.scope_to_centers(PlanItem.objects.all(), user, "plan__journey__center")
    item = get_object_or_404(queryset, pk=data["item"])
    services.close_extension(item, by=user, reason=data["note"])


_WORKLIST_ACTIONS = {"review": _review, "missed": _missed, "close_extension": _close_extension}
