"""What a text says: fixed short sentences and a link to log in, in the guardian's language.

Never a name, a test, a diagnosis, a therapy, a place or a result: a text shows on a locked
phone's screen. Only how soon (today, tomorrow, in n days) and that there is something to see.
"""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import clock
from ..models import Kind

DAY_KINDS = (Kind.LAB_REMINDER, Kind.STEP_DUE)


def body(reminder, now):
    """The text for one outbox row (a guardian's), as sent at `now`."""
    with translation.override(reminder.guardian.language):
        link = f"{settings.SITE_URL}/portal/"
        if reminder.kind in DAY_KINDS:
            days = (reminder.due_on - clock.local_today(reminder.time_zone, now)).days
            text = _("Waypoint: a reminder for %(when)s. Details: %(link)s") % {
                "when": _when(days),
                "link": link,
            }
        elif reminder.kind == Kind.MESSAGE_WAITING:  # never the message: it is behind the login
            text = _("Waypoint: your care team sent you a message. Read it: %(link)s") % {
                "link": link
            }
        elif reminder.kind == Kind.STAGE_CHANGED:
            text = _("Waypoint: there is news for your family. Details: %(link)s") % {"link": link}
        else:  # the overdue ladder
            text = _("Waypoint: something is waiting for you. Details: %(link)s") % {"link": link}
        stop = _("Reply STOP to stop texts.")
        return f"{text} {stop}"


def _when(days):
    if days <= 0:
        return _("today")
    if days == 1:
        return _("tomorrow")
    return ngettext("in %(n)d day", "in %(n)d days", days) % {"n": days}


def code_text(code, language):
    with translation.override(language):
        return _("Waypoint: your code is %(code)s. It works for 10 minutes.") % {"code": code}


def reply(keyword, language):
    """The answer to STOP, START or HELP (carriers' rules: say what happened and how to undo)."""
    with translation.override(language):
        if keyword == "stop":
            return _("Waypoint: you will get no more texts. Reply START to get them again.")
        if keyword == "start":
            return _("Waypoint: texts are on again. Reply STOP to stop them.")
        return _(
            "Waypoint reminders for your family. Call your care team for help. "
            "Reply STOP to stop texts."
        )
