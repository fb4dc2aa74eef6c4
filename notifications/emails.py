"""One function builds each reminder email: subject, text and HTML templates per kind.

What an email may say is the minimum: the child's first name, the kind of step (a lab draw, a
clinic visit, a step for the family) and when, in the recipient's zone, where (a place's name,
address and phone) and a link to log in.
Never a diagnosis, a therapy, a test name or a result value; in "minimal" mode (center-wide or the
guardian's own choice) not even the name or the date.
"""

import functools
import hashlib
import re
from html import escape  # what django.utils.html.escape does, without its lazy wrapper
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db.models import F
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.utils import formats, translation
from django.utils.translation import gettext as _

from journey.dates import date_text
from journey.followup import confirmation_token
from journey.models import ContactConfirmation
from tracker.models import ItemKind
from tracker.sites import place_for

from .models import Kind

PREFERENCES_SALT = "notifications.preferences"


def message_id(key):
    """Stable per reminder: a re-send after a crash carries the same Message-ID (receivers and
    our tests can de-duplicate)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    domain = urlparse(settings.SITE_URL).hostname or "waypoint.local"
    return f"<reminder.{digest}@{domain}>"


def preferences_url(reminder):
    """A signed link to the guardian's preferences for this child (the portal serves it)."""
    if not reminder.guardian_id:
        return f"{settings.SITE_URL}/admin/notifications/reminder/"
    token = signing.dumps(
        {"g": str(reminder.guardian.public_id), "p": str(reminder.patient.public_id)},
        salt=PREFERENCES_SALT,
    )
    return f"{settings.SITE_URL}/portal/preferences/{token}/"


def build(reminder, minimal=False, digest=None):
    """The EmailMultiAlternatives for one outbox row, in the recipient's language."""
    recipient = reminder.recipient
    with translation.override(recipient.language):
        context = _context(reminder, minimal, digest or {})
        subject, text, html = render(reminder.kind, context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email],
        headers={
            "Message-ID": message_id(reminder.key),
            "List-Unsubscribe": f"<{context['preferences_url']}>",
            # RFC 8058: mail apps may POST to the link to unsubscribe in one click.
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def render(kind, context):
    """(subject, text, html) for this context, as render_to_string gives them.

    Rendering three templates per email was dispatch's largest cost. The templates are rendered
    once per (kind, language, `what`, rung, which values are set) with a marker standing for
    each per-recipient value, and the values are put in place of the markers: as they are in
    the subject and the text, escaped (as the template's autoescape does) in the HTML. The
    memo holds no recipient's data: markers and fixed phrases only. The digest's counts go
    through template filters: rendered in full.
    """
    if kind == Kind.DAILY_DIGEST:
        return _render_templates(kind, context)
    values = {name: context[name] for name in FILLED}
    shape = tuple((name, MARK if value else value) for name, value in values.items())
    skeleton = _skeleton(kind, translation.get_language(), context["what"], context["rung"], shape)
    plain = {name: str(value) for name, value in values.items() if value}
    escaped = {name: escape(value) for name, value in plain.items()}
    subject, text, html = (
        _MARKER.sub(lambda m, fill=fill: fill[m[1]], part)
        for part, fill in zip(skeleton, (plain, plain, escaped), strict=True)
    )
    return " ".join(subject.split()), text, html


# The per-recipient values of the context; the templates print them as they are (no filter).
FILLED = ("first_name", "when", "where", "center", "login_url", "preferences_url")
_MARKER = re.compile("\x1f([a-z_]+)\x1f")


MARK = object()  # in a shape: this value is set (its marker is rendered)


@functools.lru_cache(maxsize=512)
def _skeleton(kind, language, what, rung, shape):
    """The three templates in `language`, with a marker for each value the shape marks as set
    and the other values as they are (None, empty)."""
    context = {"kind": kind, "what": what, "rung": rung, "digest": {}}
    context |= {name: f"\x1f{name}\x1f" if v is MARK else v for name, v in shape}
    with translation.override(language):
        return _render_templates(kind, context, collapse=False)


def _render_templates(kind, context, collapse=True):
    folder = f"notifications/{kind}"
    subject = _render_plain(f"{folder}/subject.txt", context)
    text = _render_plain(f"{folder}/body.txt", context)
    html = render_to_string(f"{folder}/body.html", context)
    return " ".join(subject.split()) if collapse else subject, text, html


def _render_plain(name, context):
    """A plain-text template with autoescape off: a name like O'Brien & <b> stays as typed
    (HTML escaping belongs to the HTML part only; a subject is not HTML either)."""
    template = get_template(name).template
    return template.render(Context(context, autoescape=False))


def _context(reminder, minimal, digest):
    return {
        "kind": reminder.kind,
        "first_name": None if minimal or not reminder.patient_id else reminder.patient.first_name,
        "what": _what(reminder),
        "when": None if minimal else _when(reminder),
        "where": None if minimal else _where(reminder),
        "rung": reminder.rung,
        "center": reminder.center.name,
        "digest": digest,
        "login_url": _login_url(reminder),
        "preferences_url": preferences_url(reminder),
    }


def _login_url(reminder):
    """The portal or the admin; for a waiting message its list (a public id, no content)."""
    if reminder.kind == Kind.MESSAGE_WAITING:
        return f"{settings.SITE_URL}/portal/children/{reminder.patient.public_id}/messages/"
    if reminder.kind == Kind.MESSAGE_WAITING_STAFF:
        return f"{settings.SITE_URL}/admin/conversations/thread/"
    if reminder.kind == Kind.CONTACT_CHECK:
        return _contact_check_url(reminder)
    if reminder.guardian_id:
        return f"{settings.SITE_URL}/portal/"
    return f"{settings.SITE_URL}/admin/tracker/worklist/"


def _contact_check_url(reminder):
    """The signed one-click link of the guardian's open check (journey.followup)."""
    check = (
        ContactConfirmation.objects.filter(
            guardian_id=reminder.guardian_id, patient_id=reminder.patient_id
        )
        .order_by(F("answered_at").asc(nulls_first=True), "-requested_at")  # the open one
        .first()
    )
    if check is None:
        return f"{settings.SITE_URL}/portal/"
    return f"{settings.SITE_URL}/portal/contact/{confirmation_token(check)}/"


def _what(reminder):
    """The kind of step, never its name: names of labs and visits can reveal the therapy."""
    if reminder.kind == Kind.STEP_DUE:
        return _("a step for the family")
    if reminder.scheduled_lab_id is None:
        return ""
    kind = reminder.scheduled_lab.item.kind
    if kind == ItemKind.LAB:
        return _("a lab draw")
    return _("a clinic visit") if kind == ItemKind.VISIT else _("a check-in")


def _where(reminder):
    """Where a reminded draw happens: a place's name, address and phone (nothing medical)."""
    lab = reminder.scheduled_lab if reminder.kind == Kind.LAB_REMINDER else None
    if lab is None:
        return None
    return place_for(lab, lab.item.plan.default_lab, reminder.center).text


def _when(reminder):
    """The date (or time) the email is about, in the recipient's own zone and language."""
    if reminder.kind in (Kind.CRITICAL_RESULT, Kind.URGENT_REPORT):
        local = reminder.send_at.astimezone(ZoneInfo(reminder.time_zone))
        return formats.date_format(local, "DATETIME_FORMAT")
    if reminder.kind in (Kind.OVERDUE_NUDGE, Kind.OVERDUE_OTHER_GUARDIAN, Kind.OVERDUE_COORDINATOR):
        return date_text(reminder.scheduled_lab.window_end)
    return date_text(reminder.due_on)
