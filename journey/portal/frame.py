"""The child pages' frame (the way back, the center's phones, the child's navigation) as one
HTML string built in Python, as journey.portal.markup builds the steps.

The frame's templates (three partials, fifteen links, a dozen `{% translate %}` tags) cost
about a third of a child page's rendering. Every text goes through `markup.esc`
(conditional_escape), as the templates' autoescaping did; `{% blocktranslate %}` words stay
as translated, their values escaped. The markup is what portal/child_base.html,
portal/_phones.html and portal/tracker/_child_nav.html had.

journey never imports tracker: a higher app adds its pages to the navigation with
`add_child_link` in its AppConfig.ready (the tracker's plan, labs, calendar and record).
"""

from dataclasses import dataclass

from django.urls import NoReverseMatch
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from . import links, words
from .markup import esc


@dataclass(frozen=True)
class ChildLink:
    """One page in the child's navigation: its URL name, its `page` key, its words."""

    name: str
    page: str
    label: str  # a msgid (gettext_noop), translated on each page
    optional: bool = False  # left out when no app provides the URL
    css: str = ""


# The apps' pages, shown after "Journey" in the order they were added.
CHILD_LINKS = []


def add_child_link(name, page, label, optional=False):
    """Add a page to every child's navigation (once; from an AppConfig.ready)."""
    link = ChildLink(name, page, label, optional)
    if link not in CHILD_LINKS:
        CHILD_LINKS.append(link)


def _links():
    journey = ChildLink("portal:child", "child", gettext_noop("Journey"))
    after = (
        ChildLink("portal:people", "people", gettext_noop("Who can see this")),
        ChildLink("portal:card", "card", gettext_noop("Emergency card")),
        ChildLink("portal_messages:list", "messages", gettext_noop("Messages"), True),
        ChildLink(
            "portal_reports:new",
            "report",
            gettext_noop("Something is wrong"),
            True,
            ' class="child-nav__report"',
        ),
    )
    return (journey, *CHILD_LINKS, *after)


def _item(link, public_id, page):
    try:
        href = links.url(link.name, public_id)
    except NoReverseMatch:
        if link.optional:
            return ""
        raise
    current = ' aria-current="page"' if page == link.page else ""
    return f'<li><a{link.css} href="{esc(href)}"{current}>{esc(_(link.label))}</a></li>'


def phones_html(center):
    """The center's day and 24-hour numbers, as call buttons."""
    call = _("Call %(center)s") % {"center": esc(center.name)}
    main, after = center.main_phone, center.after_hours_phone
    return (
        '<section class="phones" aria-labelledby="phones-title">\n'
        f'  <h2 id="phones-title" class="phones__title">{call}</h2>\n  <p class="phones__links">\n'
        f'    <a class="button button--call" href="{esc(words.tel_href(main))}">'
        f"{esc(_('Daytime'))}: {esc(main)}</a>\n"
        f'    <a class="button button--call button--urgent" href="{esc(words.tel_href(after))}">'
        f"{esc(_('Nights, weekends (24 hours)'))}: {esc(after)}</a>\n  </p>\n</section>"
    )


def child_frame_html(child, page):
    """The way back to the children, the phones and the child's pages (`page` current)."""
    about = _("Pages about %(name)s") % {"name": esc(child.first_name)}
    items = (_item(link, child.public_id, page) for link in _links())
    nav = "\n    ".join(item for item in items if item)
    return mark_safe(  # noqa: S308 - every text is escaped above
        f'<p class="breadcrumb"><a href="{esc(links.url("portal:home"))}">'
        f"{esc(_('My children'))}</a></p>\n{phones_html(child.center)}\n"
        f'<nav class="child-nav" aria-label="{about}">\n  <ul>\n    {nav}\n  </ul>\n</nav>'
    )


def account_nav_html(user, csrf_token):
    """The header's brand link and, for a logged-in user, the account menu with the log-out
    form (its CSRF field as {% csrf_token %} prints it)."""
    if user is None or not user.is_authenticated:
        return mark_safe(f'<a class="brand" href="{esc(links.url("login"))}">Waypoint</a>')  # noqa: S308
    home = esc(links.url("portal:home"))
    token = str(csrf_token) if csrf_token else ""
    field = (
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{esc(token)}">'
        if token and token != "NOTPROVIDED"
        else ""
    )
    return mark_safe(  # noqa: S308 - every text is escaped
        f'<a class="brand" href="{home}">Waypoint</a>\n'
        f'      <nav aria-label="{esc(_("Account"))}" class="account-nav">\n'
        f'        <a href="{home}">{esc(_("My children"))}</a>\n'
        f'        <a href="{esc(links.url("password_change"))}">{esc(_("Change password"))}</a>\n'
        f'        <form method="post" action="{esc(links.url("logout"))}" class="inline-form">\n'
        f"          {field}\n"
        f'          <button type="submit" class="link-button">{esc(_("Log out"))}</button>\n'
        "        </form>\n      </nav>"
    )
