"""The admin patient list's whole page as one HTML string: Django's base.html and
change_list.html blocks with the project's base_site.html, around patient_page's header and
content and admin_site's sidebar.

With the header, content and sidebar written in Python, the template chain left (four levels
of extends, ~15 static files, the media, breadcrumbs, messages) was still ~1.5 ms. Values are
escaped as the templates' autoescaping did; static and media URLs depend only on code, and
are worked out once per process. The whole-page test compares it with Django's templates.
"""

import datetime
import functools

from django.contrib.messages import get_messages
from django.template.context_processors import csrf
from django.template.defaultfilters import date
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.html import conditional_escape as esc
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, get_language_bidi, gettext

from journey.security.admin_site import nav_html

from . import patient_page
from .patient_page import admin_url, capfirst_text, content_html, header_html

TEMPLATE = "admin/journey/patient/change_list_page.html"  # {{ patient_page }}
_SVGS = (
    '<svg xmlns="http://www.w3.org/2000/svg" class="base-svgs">'
    '<symbol viewBox="0 0 24 24" width="1.5rem" height="1.5rem" id="icon-auto"><path d="M0 0h24'
    'v24H0z" fill="currentColor"/><path d="M12 22C6.477 22 2 17.523 2 12S6.477 2 12 2s10 4.477'
    ' 10 10-4.477 10-10 10zm0-2V4a8 8 0 1 0 0 16z"/></symbol>'
    '<symbol viewBox="0 0 24 24" width="1.5rem" height="1.5rem" id="icon-moon"><path d="M0 0h24'
    'v24H0z" fill="currentColor"/><path d="M10 7a7 7 0 0 0 12 4.9v.1c0 5.523-4.477 10-10 10S2 '
    "17.523 2 12 6.477 2 12 2h.1A6.979 6.979 0 0 0 10 7zm-6 5a8 8 0 0 0 15.062 3.762A9 9 0 0 1 "
    '8.238 4.938 7.999 7.999 0 0 0 4 12z"/></symbol>'
    '<symbol viewBox="0 0 24 24" width="1.5rem" height="1.5rem" id="icon-sun"><path d="M0 0h24v'
    '24H0z" fill="currentColor"/><path d="M12 18a6 6 0 1 1 0-12 6 6 0 0 1 0 12zm0-2a4 4 0 1 0 '
    "0-8 4 4 0 0 0 0 8zM11 1h2v3h-2V1zm0 19h2v3h-2v-3zM3.515 4.929l1.414-1.414L7.05 5.636 5.636"
    " 7.05 3.515 4.93zM16.95 18.364l1.414-1.414 2.121 2.121-1.414 1.414-2.121-2.121zm2.121-14.85"
    "l1.414 1.415-2.121 2.121-1.414-1.414 2.121-2.121zM5.636 16.95l1.414 1.414-2.121 2.121-1.414"
    '-1.414 2.121-2.121zM23 11v2h-3v-2h3zM4 11v2H1v-2h3z"/></symbol></svg>'
)


def page_html(context, request):
    """The page; the CSRF field written twice with one token, as the template's two
    {% csrf_token %} tags write it."""
    token = csrf(request)["csrf_token"]
    field = f'<input type="hidden" name="csrfmiddlewaretoken" value="{esc(token)}">'
    header, content = header_html(context, request), content_html(context)
    sidebar = ""
    if context.get("is_nav_sidebar_enabled"):
        sidebar = _sidebar(context["available_apps"], request.path)
    title = context.get("title")
    return mark_safe(  # noqa: S308 (every value escaped)
        f"{_head(context)}{header[0]}{field}{header[1]}{_breadcrumbs(context['cl'].opts)}"
        f'<div class="main" id="main">{sidebar}'
        f'<main id="content-start" class="content" tabindex="-1">{_messages(request)}'
        f'<!-- Content --><div id="content" class="">'
        f"{f'<h1>{esc(title)}</h1>' if title else ''}{_subtitle(context)}"
        f'{content[0]}{field}{content[1]}<br class="clear"></div><!-- END Content --></main>'
        '</div><footer id="footer"></footer></div><!-- END Container --><!-- SVGs -->'
        f"{_SVGS}<!-- END SVGs --></body></html>"
    )


def handles(context):
    """What page_html writes: patient_page's list, the language left to right (no rtl
    styles)."""
    return patient_page.handles(context) and not get_language_bidi()


def _head(context):
    opts = context["cl"].opts
    subtitle = context.get("subtitle")
    site_title = context.get("site_title") or gettext("Django site admin")
    title = f"{esc(subtitle)} | " if subtitle else ""
    title += f"{esc(context.get('title'))} | {esc(site_title)}"
    offset = date(datetime.datetime.now(tz=timezone.get_current_timezone()), "Z")
    sidebar = ""
    if context.get("is_nav_sidebar_enabled"):
        sidebar = (
            f'<link rel="stylesheet" href="{_static("admin/css/nav_sidebar.css")}">'
            f'<script src="{_static("admin/js/nav_sidebar.js")}" defer></script>'
        )
    return (
        f'<!DOCTYPE html><html lang="{esc(get_language() or "en-us")}" dir="ltr"><head>'
        f"<title>{title}</title>"
        f'<link rel="stylesheet" href="{_static("admin/css/base.css")}">'
        f'<link rel="stylesheet" href="{_static("admin/css/dark_mode.css")}">'
        f'<script src="{_static("admin/js/theme.js")}"></script>{sidebar}'
        f'<link rel="stylesheet" href="{_static("admin-extra/waypoint-admin.css")}">'
        f'<link rel="stylesheet" href="{_static("admin/css/changelists.css")}">'
        f"{_jsi18n(context)}{_media(context['media'], 'css')}{_no_actions_style(context)}"
        f'{_media(context["media"], "js")}<script src="{_static("admin/js/filters.js")}" defer>'
        '</script><meta name="viewport" content="width=device-width, initial-scale=1.0">'
        f'<link rel="stylesheet" href="{_static("admin/css/responsive.css")}">'
        '<meta name="robots" content="NONE,NOARCHIVE"></head>'
        f'<body class=" app-{esc(opts.app_label)} model-{esc(opts.model_name)} change-list" '
        f'data-admin-utc-offset="{esc(offset)}">'
        f'<a href="#content-start" class="skip-to-content-link">'
        f'{esc(gettext("Skip to main content"))}</a><!-- Container --><div id="container">'
        "<!-- Header -->"
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


def _breadcrumbs(opts):
    app_list = esc(_app_list_url(opts.app_label))
    return (
        '<!-- END Header --><nav aria-label="{}"><div class="breadcrumbs">'.format(
            esc(gettext("Breadcrumbs"))
        )
        + f'<a href="{esc(admin_url("index"))}">{esc(gettext("Home"))}</a> &rsaquo; '
        f'<a href="{app_list}">{esc(opts.app_config.verbose_name)}</a> &rsaquo; '
        f"{esc(capfirst_text(opts.verbose_name_plural))}</div></nav>"
    )


def _sidebar(available_apps, path):
    """templates/admin/nav_sidebar.html (the site's app list, or any list of apps)."""
    apps_html = getattr(available_apps, "nav_html", None)
    apps_html = apps_html() if apps_html else nav_html(list(available_apps or ()), path)
    return (
        '<button class="sticky toggle-nav-sidebar" id="toggle-nav-sidebar" '
        f'aria-label="{esc(gettext("Toggle navigation"))}"></button>'
        f'<nav class="sticky" id="nav-sidebar" aria-label="{esc(gettext("Sidebar"))}">'
        f'<input type="search" id="nav-filter" '
        f'placeholder="{esc(gettext("Start typing to filter…"))}" '
        f'aria-label="{esc(gettext("Filter navigation items"))}">{apps_html}</nav>'
    )


def _messages(request):
    messages = get_messages(request)
    if not messages:
        return ""
    return f'<ul class="messagelist">{"".join(_message(m) for m in messages)}</ul>'


def _message(message):
    tags = f' class="{esc(message.tags)}"' if message.tags else ""
    return f"<li{tags}>{esc(capfirst_text(str(message)))}</li>"


def _app_list_url(app_label):
    return _app_list_reversed(get_urlconf(), get_script_prefix(), app_label)


@functools.lru_cache(maxsize=64)
def _app_list_reversed(urlconf, prefix, app_label):
    return reverse("admin:app_list", kwargs={"app_label": app_label}, urlconf=urlconf)


def _subtitle(context):
    subtitle = context.get("subtitle")
    return f"<h2>{esc(subtitle)}</h2>" if subtitle else ""


@functools.lru_cache(maxsize=64)
def _static(path):
    """{% static %}: the storage's URL of a file of the code."""
    return esc(static(path))
