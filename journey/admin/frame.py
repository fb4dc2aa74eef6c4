"""An admin page written in Python: Django's base.html with the project's base_site.html
(branding, the staff zone in the user links, waypoint-admin.css), around a page's own
breadcrumbs and content.

Rendering that template chain (extends, a dozen static tags, the user tools, messages) took
~1 ms a page; the pages that are opened most (the patient list: patient_frame; the worklist:
tracker.admin.worklist_page) write it here instead. Values are escaped as the templates'
autoescaping did; static files and URLs depend only on code and are worked out once per
process. Their tests compare each page with the templates rendered from the same context.
"""

import datetime
import functools
from dataclasses import dataclass

from django.contrib.messages import get_messages
from django.template.context_processors import csrf
from django.template.defaultfilters import date
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.html import conditional_escape as esc
from django.utils.safestring import SafeData, mark_safe
from django.utils.text import capfirst
from django.utils.translation import get_language, get_language_bidi, gettext

from journey.security.admin_site import nav_html

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


@dataclass(frozen=True)
class Page:
    """A page's own parts: the body's class, what its head adds after the project's
    stylesheet (extra_style) and before the viewport (extra_head), its breadcrumbs' links
    (markup), the content's class (Django's coltype block) and its content: a list of
    markup parts joined by the page's CSRF field."""

    breadcrumbs: str
    content: tuple
    body_class: str = ""
    extra_style: str = ""
    extra_head: str = ""
    coltype: str = "colM"


def handles():
    """Pages written here are left to right (no rtl stylesheets)."""
    return not get_language_bidi()


def page_html(context, request, page):
    """The whole page; the CSRF field written with one token wherever the templates'
    {% csrf_token %} tags would write it (the logout form and the content's forms)."""
    token = csrf(request)["csrf_token"]
    field = f'<input type="hidden" name="csrfmiddlewaretoken" value="{esc(token)}">'
    header = header_html(context, request)
    sidebar = ""
    if context.get("is_nav_sidebar_enabled"):
        sidebar = _sidebar(context["available_apps"], request.path)
    title = context.get("title")
    return mark_safe(  # noqa: S308 (every value escaped)
        f"{_head(context, page)}{header[0]}{field}{header[1]}"
        f'<!-- END Header --><nav aria-label="{esc(gettext("Breadcrumbs"))}">'
        f'<div class="breadcrumbs">{page.breadcrumbs}</div></nav>'
        f'<div class="main" id="main">{sidebar}'
        f'<main id="content-start" class="content" tabindex="-1">{_messages(request)}'
        f'<!-- Content --><div id="content" class="{page.coltype}">'
        f"{f'<h1>{esc(title)}</h1>' if title else ''}{_subtitle(context)}"
        f'{field.join(page.content)}<br class="clear"></div><!-- END Content --></main>'
        '</div><footer id="footer"></footer></div><!-- END Container --><!-- SVGs -->'
        f"{_SVGS}<!-- END SVGs --></body></html>"
    )


def home_link():
    """The breadcrumbs' first link."""
    return f'<a href="{esc(admin_url("index"))}">{esc(gettext("Home"))}</a>'


def app_link(opts):
    """The breadcrumbs' link to the model's app."""
    url = esc(_app_list_url(opts.app_label))
    return f'<a href="{url}">{esc(opts.app_config.verbose_name)}</a>'


def _head(context, page):
    subtitle = context.get("subtitle")
    site_title = context.get("site_title") or gettext("Django site admin")
    title = f"{esc(subtitle)} | " if subtitle else ""
    title += f"{esc(context.get('title'))} | {esc(site_title)}"
    offset = date(datetime.datetime.now(tz=timezone.get_current_timezone()), "Z")
    sidebar = ""
    if context.get("is_nav_sidebar_enabled"):
        sidebar = (
            f'<link rel="stylesheet" href="{static_url("admin/css/nav_sidebar.css")}">'
            f'<script src="{static_url("admin/js/nav_sidebar.js")}" defer></script>'
        )
    return (
        f'<!DOCTYPE html><html lang="{esc(get_language() or "en-us")}" dir="ltr"><head>'
        f"<title>{title}</title>"
        f'<link rel="stylesheet" href="{static_url("admin/css/base.css")}">'
        f'<link rel="stylesheet" href="{static_url("admin/css/dark_mode.css")}">'
        f'<script src="{static_url("admin/js/theme.js")}"></script>{sidebar}'
        f'<link rel="stylesheet" href="{static_url("admin-extra/waypoint-admin.css")}">'
        f"{page.extra_style}{page.extra_head}"
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">'
        f'<link rel="stylesheet" href="{static_url("admin/css/responsive.css")}">'
        '<meta name="robots" content="NONE,NOARCHIVE"></head>'
        f'<body class="{page.body_class}" data-admin-utc-offset="{esc(offset)}">'
        f'<a href="#content-start" class="skip-to-content-link">'
        f'{esc(gettext("Skip to main content"))}</a><!-- Container --><div id="container">'
        "<!-- Header -->"
    )


def header_html(context, request):
    """The page's `header` block: base_site.html's branding, base.html's user tools with
    the project's userlinks (templates/admin/base_site.html: the staff zone first), around
    the logout form's CSRF field (page_html writes it): (before, after). URLs reversed
    once per process."""
    site = context.get("site_header") or gettext("Django administration")
    home = esc(admin_url("index"))
    user = request.user
    toggle = _theme_toggle(get_language()) if user.is_anonymous else ""
    before = (
        f'<header id="header"><div id="branding"><div id="site-name"><a href="{home}">'
        f"{esc(site)}</a></div>{toggle}</div>"
    )
    if not context.get("has_permission"):
        return mark_safe(before), mark_safe("</header>")  # noqa: S308
    name = user.get_short_name() or user.get_username()
    zone = gettext("Times in %(zone)s") % {"zone": esc(timezone.get_current_timezone())}
    before += (
        f'<div id="user-tools">{esc(gettext("Welcome,"))} <strong>{esc(name)}</strong>. '
        f'<span class="staff-zone">{zone}</span> / {_user_links(context, user)}'
        f'<form id="logout-form" method="post" action="{esc(admin_url("logout"))}">'
    )
    after = (
        f'<button type="submit">{esc(gettext("Log out"))}</button></form>'
        f"{_theme_toggle(get_language())}</div></header>"
    )
    return mark_safe(before), mark_safe(after)  # noqa: S308 (every value escaped)


def _user_links(context, user):
    """Django's userlinks before the logout form."""
    links = ""
    if context.get("site_url"):
        links += f'<a href="{esc(context["site_url"])}">{esc(gettext("View site"))}</a> / '
    docs = admin_url("django-admindocs-docroot", namespace="")
    if user.is_active and user.is_staff and docs:
        links += f'<a href="{esc(docs)}">{esc(gettext("Documentation"))}</a> / '
    if user.has_usable_password():
        change = esc(admin_url("password_change"))
        links += f'<a href="{change}">{esc(gettext("Change password"))}</a> / '
    return links


def admin_url(name, namespace="admin:"):
    """The {% url %} of a page of the site (None where there is none), once per process."""
    return _reversed(get_urlconf(), get_script_prefix(), f"{namespace}{name}")


@functools.lru_cache(maxsize=64)
def _reversed(urlconf, prefix, name):
    try:
        return reverse(name, urlconf=urlconf)
    except NoReverseMatch:
        return None


@functools.lru_cache(maxsize=16)
def _theme_toggle(language):
    """admin/color_theme_toggle.html in the language: code and words, no data."""
    return render_to_string("admin/color_theme_toggle.html")


def capfirst_text(text):
    """The capfirst filter: safe text stays safe."""
    first = capfirst(text)
    return mark_safe(first) if isinstance(text, SafeData) else first  # noqa: S308


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
def static_url(path):
    """{% static %}: the storage's URL of a file of the code."""
    return esc(static(path))
