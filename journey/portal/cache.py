"""The family portal's page cache: always correct, because what a page shows is in its key.

A cached page is the rendered inside of the page (title, head and the content block: never
the header with its CSRF token, never the flash messages), keyed by the page, the guardian,
the child's public id and the guardian's local date, language and time zone (statuses like
"late" follow the day), and stored with the version tokens it was built under; it counts only
while all of them are current:

- the guardian's version (``g:<pk>``): bumped when the guardian or one of their
  guardianships changes (language, time zone, a child linked or unlinked);
- each shown child's version (``p:<pk>``): bumped by every change to the child, a journey,
  its steps, stage changes, plan, dates or results (journey/portal/invalidation.py,
  tracker/portal/invalidation.py);
- the catalogue version (``global``): therapies, centers, lab tests.

A version is a random token. Bumping deletes it; the next reader draws a new token, so an
older page can never be found again (it expires after ``PAGE_SECONDS``). A reader takes its
tokens *before* it reads the database, and writers delete the token after they commit: a
page built from data older than a commit can only be stored under a token that commit
already deleted. Writers also delete the token at once (before the commit) so that the
writer's own connection (and a test's) sees its change; see docs/portal.md, "Caching".
"""

import logging
import re
import uuid
from hashlib import blake2b

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from journey.models import Guardian, Guardianship
from journey.tokens import database_tag, draw, forget, release_digest

log = logging.getLogger(__name__)


RELEASE = [  # what draws the pages: a deploy that changes any of it starts afresh
    "templates/portal/**/*.html",
    "journey/portal/*.py",
    "tracker/portal/*.py",
    "tracker/charts.py",
    "tracker/flags.py",  # exit rules: the plan line's words and the chart's rule lines
    "locale/*/LC_MESSAGES/*.mo",
]
PREFIX = f"portal:{release_digest(RELEASE)}:{database_tag()}"
PAGE_SECONDS = getattr(settings, "WAYPOINT_PORTAL_CACHE_SECONDS", 600)
VERSION_SECONDS = 7 * 24 * 3600
PARTS_TEMPLATE = "portal/_parts.html"  # a base template that prints only the blocks
SPLIT = "<!--portal-part-->"  # cannot come from data: autoescaping turns "<" into "&lt;"
PARTS = ("title", "body_class", "head", "content")
GLOBAL = f"{PREFIX}:v:global"


def guardian_key(guardian_id):
    return f"{PREFIX}:v:g:{guardian_id}"


def patient_key(patient_id):
    return f"{PREFIX}:v:p:{patient_id}"


def login_key(user_id):
    return f"{PREFIX}:login:{user_id}"


# ---------------------------------------------------------------- invalidation


def bump(keys):
    """Forget these versions now and again once the current transaction commits."""
    forget(keys)


def bump_guardians(guardian_ids):
    bump(guardian_key(pk) for pk in guardian_ids if pk)


def bump_patients(patient_ids):
    bump(patient_key(pk) for pk in patient_ids if pk)


def bump_logins(user_ids):
    bump(login_key(pk) for pk in user_ids if pk)


def bump_all():
    """The catalogue (therapies, centers, lab tests) changed: every portal page is stale."""
    bump([GLOBAL])


# ---------------------------------------------------------------- the logged-in guardian


def guardian_for_login(user):
    """The Guardian row of this login (without relations), from the cache when possible.

    Invalidated by any save or delete of the Guardian (its user, language or time zone)
    and by the creation of a User (a pk met again in a fresh database).
    """
    key = login_key(user.pk)
    guardian = cache.get(key)
    if guardian is None:
        guardian = Guardian.objects.filter(user=user).first()
        if guardian is not None:
            cache.set(key, guardian, PAGE_SECONDS)
    return guardian


# ---------------------------------------------------------------- reading
#
# Two round trips per page: (1) the guardian's and the catalogue's tokens, the guardian's
# children and the page itself; (2) the shown children's tokens. The page and the children
# list each carry the tokens they were built under and count only if those are current.


def _draw(keys, found):
    return draw(keys, found, VERSION_SECONDS)


def _page_key(page, guardian, extra=""):
    words = f"{extra}|{timezone.localdate()}|{translation.get_language()}"
    words += f"|{timezone.get_current_timezone_name()}"
    digest = blake2b(words.encode(), digest_size=12).hexdigest()
    return f"{PREFIX}:page:{page}:{guardian.pk}:{digest}"


def _first_trip(guardian, page_key):
    """(guardian token, catalogue token, {public_id: pk} of the children, cached page)."""
    kids_key = f"{PREFIX}:kids:{guardian.pk}"
    keys = [guardian_key(guardian.pk), GLOBAL]
    found = cache.get_many([*keys, kids_key, page_key])
    guardian_token, global_token = _draw(keys, found)
    kids = found.get(kids_key)
    if kids is None or kids[0] != guardian_token:
        links = Guardianship.objects.filter(guardian=guardian)
        rows = links.values_list("patient__public_id", "patient_id")
        kids = (guardian_token, {str(public_id): pk for public_id, pk in rows})
        cache.set(kids_key, kids, PAGE_SECONDS)
    return guardian_token, global_token, kids[1], found.get(page_key)


def _cached_page(page_key, first_tokens, patient_ids, page, build):
    keys = [patient_key(pk) for pk in patient_ids]
    tokens = (*first_tokens, *_draw(keys, cache.get_many(keys)))
    if page is not None and page[0] == tokens:
        return _mark_safe(page[1])
    parts = build()  # after the tokens were taken: see the module's docstring
    cache.set(page_key, (tokens, parts), PAGE_SECONDS)
    return _mark_safe(parts)


def render_parts(template_name, context):
    """Render a page that extends ``base_template`` into its parts (no request: no CSRF)."""
    html = render_to_string(template_name, {**context, "base_template": PARTS_TEMPLATE})
    return dict(zip(PARTS, html.split(SPLIT), strict=True))


def _mark_safe(parts):
    return {name: mark_safe(text) for name, text in parts.items()}  # noqa: S308 (rendered above)


def home_parts(guardian, build):
    """The home page's parts for every child of the guardian; build() on a miss."""
    key = _page_key("home", guardian)
    guardian_token, global_token, children, page = _first_trip(guardian, key)
    ids = sorted(children.values())
    return _cached_page(key, (guardian_token, global_token), ids, page, build)


def child_parts(guardian, page_name, public_id, build):
    """One child's page parts; 404 when the child is not the guardian's; build() on a miss."""
    key = _page_key(page_name, guardian, extra=str(public_id))
    guardian_token, global_token, children, page = _first_trip(guardian, key)
    patient_id = children.get(str(public_id))
    if patient_id is None:
        raise Http404
    return _cached_page(key, (guardian_token, global_token), [patient_id], page, build)


# ---------------------------------------------------------------- the page around the parts
#
# The layout (portal/base.html: header, logout form, footer) depends only on the language
# for a logged-in guardian. It is rendered once per process and language with markers in
# place of the parts and of the CSRF token; each response fills in the parts and this
# request's token (never cached). A request with flash messages renders the whole layout.

LAYOUT_TEMPLATE = "portal/cached.html"
_LAYOUTS = {}  # language -> [text, name, text, name, ..., text]


class _LoggedIn:
    is_authenticated = True


def _layout(language):
    pieces = _LAYOUTS.get(language)
    if pieces is None:
        marks = {name: uuid.uuid4().hex for name in (*PARTS, "csrf")}
        context = {
            "parts": {name: mark_safe(marks[name]) for name in PARTS},  # noqa: S308
            "csrf_token": marks["csrf"],
            "user": _LoggedIn(),
            "messages": (),
        }
        html = render_to_string(LAYOUT_TEMPLATE, context)
        names = {mark: name for name, mark in marks.items()}
        pieces = re.split(f"({'|'.join(names)})", html)
        pieces[1::2] = [names[mark] for mark in pieces[1::2]]
        _LAYOUTS[language] = pieces
    return pieces


def respond(request, parts):
    """The page: the layout around the cached parts, with this request's CSRF token."""
    if len(messages.get_messages(request)):
        return render(request, LAYOUT_TEMPLATE, {"parts": parts})
    values = {**parts, "csrf": get_token(request)}
    pieces = _layout(translation.get_language())
    html = "".join(piece if i % 2 == 0 else values[piece] for i, piece in enumerate(pieces))
    return HttpResponse(html)
