"""The admin patient list's whole page as one HTML string: Django's change_list.html blocks
in journey.admin.frame's page, around patient_page's content.

With the header, content and sidebar written in Python, the template chain left (four levels
of extends, ~15 static files, the media, breadcrumbs, messages) was still ~1.5 ms. The
whole-page test compares it with Django's templates.
"""

from django.utils.html import conditional_escape as esc

from . import frame, patient_page
from .frame import admin_url, app_link, capfirst_text, home_link, static_url
from .patient_page import content_html

TEMPLATE = "admin/journey/patient/change_list_page.html"  # {{ patient_page }}


def page_html(context, request):
    """The page (frame.page_html) with change_list.html's blocks."""
    opts = context["cl"].opts
    breadcrumbs = (
        f"{home_link()} &rsaquo; {app_link(opts)} &rsaquo; "
        f"{esc(capfirst_text(opts.verbose_name_plural))}"
    )
    page = frame.Page(
        breadcrumbs=breadcrumbs,
        content=content_html(context),
        body_class=f" app-{esc(opts.app_label)} model-{esc(opts.model_name)} change-list",
        extra_style=_extra_style(context),
        extra_head=(
            f"{_media(context['media'], 'js')}"
            f'<script src="{static_url("admin/js/filters.js")}" defer></script>'
        ),
        coltype="",
    )
    return frame.page_html(context, request, page)


def handles(context):
    """What page_html writes: patient_page's list, the language left to right."""
    return patient_page.handles(context) and frame.handles()


def _extra_style(context):
    """change_list.html's extrastyle after the project's stylesheet."""
    return (
        f'<link rel="stylesheet" href="{static_url("admin/css/changelists.css")}">'
        f"{_jsi18n(context)}{_media(context['media'], 'css')}{_no_actions_style(context)}"
    )


def _jsi18n(context):
    if not context.get("action_form"):
        return ""
    return f'<script src="{esc(admin_url("jsi18n"))}"></script>'


def _no_actions_style(context):
    if context.get("actions_on_top") or context.get("actions_on_bottom"):
        return ""
    return "<style>#changelist table thead th:first-child {width: inherit}</style>"


_MEDIA = {}


def _media(media, kind):
    """{{ media.css }} or {{ media.js }}: tags for code's files, made once per process."""
    if kind == "js":
        key = (kind, *media._js)
    else:
        key = (kind, *((medium, *paths) for medium, paths in media._css.items()))
    if key not in _MEDIA:
        _MEDIA[key] = str(media[kind])
    return _MEDIA[key]
