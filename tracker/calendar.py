"""The families' private calendar feed (iCalendar) and its revocable links.

What a feed carries is what the reminder email carries, no more: the child's first name and
the kind of date ("Lab draw for Maya", "Clinic visit for Maya"), and where (LOCATION: the
center, or the local lab's name, address and phone). No diagnosis, therapy, test
names or results: a calendar is shared, synced and shown on lock screens.

Events are all-day (DTSTART;VALUE=DATE) on the due day. The reminder is a VALARM with a
relative trigger from the start of that day: the default "the day before at 9:00" is
-PT15H (24 h - 9 h). An all-day event is "floating", so the alarm fires at 9:00 wherever
the phone is, which is what a family travelling to the center wants.

The link: /portal/calendar/<token>.ics where the token is the feed's random key signed with
the site's secret (salted), so a copy of the database alone does not reveal working links.
Regenerating revokes the old row (revoked_at) and makes a new one; a revoked or unknown
token answers 404.
"""

import hashlib
import uuid
from datetime import UTC, timedelta

from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Alarm, Calendar, Event

from journey.access import patients_for_guardian

from .models import CalendarFeed, ItemKind, ScheduledLab
from .portal import wording
from .sites import place_for

SALT = "tracker.calendar-feed"
REMINDER_LEAD_DAYS = 1
REMINDER_HOUR = 9
PRODID = "-//Waypoint//Family calendar//EN"
FEED_KINDS = (ItemKind.LAB, ItemKind.VISIT)
# The row's item and version, and where it happens (its lab, the plan's usual lab, the center).
FEED_RELATED = ("item", "version", "local_lab", "item__plan__default_lab", "journey__center")


def _signer():
    return signing.Signer(salt=SALT, sep=".")


def feed_token(feed):
    return _signer().sign(feed.key.hex)


def feed_path(feed):
    return reverse("portal_tracker:feed", kwargs={"token": feed_token(feed)})


def active_feed(guardian, patient):
    return CalendarFeed.objects.filter(
        guardian=guardian, patient=patient, revoked_at__isnull=True
    ).first()


def new_feed(guardian, patient, now=None):
    """Revoke the pair's live link (if any) and make a new one."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            CalendarFeed.objects.filter(
                guardian=guardian, patient=patient, revoked_at__isnull=True
            ).update(revoked_at=now)
            return CalendarFeed.objects.create(guardian=guardian, patient=patient, created_at=now)
    except IntegrityError:
        # A double click raced us to the new row: the one that won is the link.
        return active_feed(guardian, patient)


def revoke_feeds(guardian, patient, now=None):
    """Switch the pair's link off; returns how many live links there were (0 or 1)."""
    return CalendarFeed.objects.filter(
        guardian=guardian, patient=patient, revoked_at__isnull=True
    ).update(revoked_at=now or timezone.now())


def feed_for_token(token):
    """The live feed this token names, if its guardian may still see the child; else None.

    Access is decided by journey.access like every portal page: a guardian unlinked from the
    child, or whose login was switched off, loses the feed too.
    """
    try:
        key = uuid.UUID(hex=_signer().unsign(token))
    except (signing.BadSignature, ValueError):
        return None
    feed = (
        CalendarFeed.objects.filter(key=key, revoked_at__isnull=True)
        .select_related("guardian__user")
        .first()
    )
    if feed is None or feed.guardian.user is None:
        return None
    child = patients_for_guardian(feed.guardian.user).filter(pk=feed.patient_id).first()
    if child is None:
        return None
    feed.patient = child
    return feed


# ---------------------------------------------------------------- the iCalendar document


def _summary(kind, first_name):
    if kind == ItemKind.VISIT:
        return _("Clinic visit for %(name)s") % {"name": first_name}
    return _("Lab draw for %(name)s") % {"name": first_name}


def feed_dates(patient):
    """Dates the family goes to: lab draws and visits, not cancelled or missed, not inpatient.

    One query: the child's journeys' rows with their item, plan version and site.
    """
    return (
        ScheduledLab.objects.filter(
            journey__patient=patient,
            item__kind__in=FEED_KINDS,
            item__inpatient=False,
            item__removed_at__isnull=True,
            cancelled_at__isnull=True,
            missed_at__isnull=True,
        )
        .select_related(*FEED_RELATED)
        .order_by("due_on", "item__position", "pk")
    )


def _alarm(description):
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", description)
    alarm.add("trigger", -timedelta(hours=24 * REMINDER_LEAD_DAYS - REMINDER_HOUR))
    return alarm


def _uid(patient, due_on, kind, domain):
    """Stable across reschedules of other dates; names no id that appears anywhere else."""
    seed = f"{patient.public_id}:{due_on.isoformat()}:{kind}".encode()
    return f"{hashlib.sha256(seed).hexdigest()[:32]}@{domain}"


def _event(patient, due_on, kind, rows, link, stamp, domain):
    """One all-day event per day and kind: several tests on one day are one trip."""
    event = Event()
    summary = _summary(kind, patient.first_name)
    start = max(r.window_start for r in rows)
    end = min(r.window_end for r in rows)
    event.add("uid", _uid(patient, due_on, kind, domain))
    event.add("dtstamp", stamp)
    event.add("dtstart", due_on)
    event.add("dtend", due_on + timedelta(days=1))
    event.add("summary", summary)
    event.add("sequence", max(r.version.number for r in rows))
    event.add("transp", "TRANSPARENT")
    first = rows[0]
    event.add("location", place_for(first, first.item.plan.default_lab, first.journey.center).text)
    if start < end:
        when = _("Any day from %(start)s to %(end)s is fine.") % {
            "start": wording.day(start),
            "end": wording.day(end),
        }
    else:
        when = ""
    details = _("Details: %(link)s") % {"link": link}
    event.add("description", f"{when} {details}".strip())
    if any(r.done_at is None for r in rows):
        event.add_component(_alarm(summary))
    return event


def build_calendar(patient, rows, *, link, domain, now=None):
    """The feed as bytes. `link` is the portal page a reader follows for the details."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _("%(name)s's care dates") % {"name": patient.first_name})
    stamp = (now or timezone.now()).astimezone(UTC)
    days = {}
    for row in rows:
        days.setdefault((row.due_on, row.item.kind), []).append(row)
    for (due_on, kind), group in days.items():
        cal.add_component(_event(patient, due_on, kind, group, link, stamp, domain))
    return cal.to_ical()
