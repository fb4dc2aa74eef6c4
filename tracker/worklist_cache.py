"""The worklist's cache: each center's rendered lists, correct because every change bumps them.

What is cached is the inside of the worklist page (the counts, the rows and the pagers of
every section), rendered without a request: the forms carry MARK where the CSRF token goes
and the view puts this request's token there, so no token is ever stored. The admin's frame
around it (header, messages, breadcrumbs) is rendered on every request.

The key names everything the lists depend on: the set of centers the user sees, the user's
local date (overdue and "due in the next 7 days" follow the day), the language, the time zone
(times are shown in it) and the page of each section (?overdue=2, =all). The value carries
the version tokens it was built under, the same scheme as the portal's page cache
(journey/portal/cache.py):

- each center's version (``c:<pk>``), bumped by every change a section shows: a scheduled
  lab, a result (new, corrected, reviewed), a plan or its items (extensions), a label
  review (opened, refreshed, applied or kept), a journey
  (stage, infusion date, center), a patient, and a failed or escalated reminder
  (notifications/worklist.py, notifications/dispatch.py);
- ``any``, bumped with every center: a superuser's page shows every center;
- ``global``: the lab catalogue (a test's name for families) and rare bulk writes.

A reader takes its tokens *before* it reads the database and writers delete the token at
once and again after they commit, so a page built from data older than a commit can only be
stored under a token that commit deleted. seconds() bounds anything a write might miss.
"""

import logging
from hashlib import blake2b

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone, translation

from journey.models import Center, Journey, Patient
from journey.tokens import database_tag, draw, forget, release_digest

from .models import (
    LabResult,
    LabTest,
    MonitoringPlan,
    PlanItem,
    PlanReview,
    PlanVersion,
    ScheduledLab,
)

log = logging.getLogger(__name__)


RELEASE = [  # what draws the lists: a deploy that changes any of it starts afresh
    "templates/admin/tracker/_worklist*.html",
    "templates/admin/notifications/_worklist*.html",
    "tracker/services/worklist.py",
    "tracker/worklist_cache.py",
    "tracker/admin.py",
    "notifications/worklist.py",
    "locale/*/LC_MESSAGES/*.mo",
]
PREFIX = f"worklist:{release_digest(RELEASE)}:{database_tag()}"
VERSION_SECONDS = 7 * 24 * 3600
GLOBAL = f"{PREFIX}:v:global"
ANY = f"{PREFIX}:v:any"
# Where the CSRF token goes in a cached page. Secret (from SECRET_KEY), so no data can spell it.
MARK = blake2b(f"worklist-csrf:{settings.SECRET_KEY}".encode(), digest_size=16).hexdigest()
MAX_PARAMS = 12  # more page parameters than sections: not worth a cache entry


def seconds():
    """How long a page may be served (0: never cached); the version tokens are the real bound.

    Only a cache every process shares (Redis) hears of a change made by another process (a
    Celery worker's failed send, another web worker's review), so with a per-process cache
    (locmem, the local default) the worklist is drawn on every request.
    """
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    shared = backend not in ("LocMemCache", "DummyCache")
    return getattr(settings, "WAYPOINT_WORKLIST_CACHE_SECONDS", 60 if shared else 0)


def center_key(center_id):
    return f"{PREFIX}:v:c:{center_id}"


# ---------------------------------------------------------------- invalidation


def bump_centers(center_ids):
    """These centers' lists changed: forget them now and again once the transaction commits."""
    keys = [center_key(pk) for pk in set(center_ids) if pk is not None]
    if keys:
        forget([*keys, ANY])


def bump_journeys(journey_ids):
    """The lists of these journeys' centers (one query)."""
    ids = [pk for pk in set(journey_ids) if pk is not None]
    if ids:
        bump_centers(Journey.objects.filter(pk__in=ids).values_list("center_id", flat=True))


def bump_all():
    """Every center's lists (the catalogue, or a bulk write that does not know its centers)."""
    forget([GLOBAL])


# ---------------------------------------------------------------- reading


def page_params(query):
    """The page of each section asked for, normalised (?overdue=02 is ?overdue=2); None when
    there are too many parameters to be a real page."""
    from .services.worklist import page_number

    if len(query) > MAX_PARAMS:
        return None
    pages = {key: page_number(value) for key, value in query.items()}
    return sorted((key, number) for key, number in pages.items() if number != 1)


def _page_key(center_ids, today, params):
    centers = "all" if center_ids is None else ",".join(map(str, sorted(center_ids)))
    words = f"{centers}|{today.isoformat()}|{translation.get_language()}"
    words += f"|{timezone.get_current_timezone_name()}|{params}"
    return f"{PREFIX}:page:{blake2b(words.encode(), digest_size=16).hexdigest()}"


def content(center_ids, today, params, build):
    """The lists' HTML for these centers (None: every center), day and pages; build() on a
    miss. The HTML has MARK where the CSRF token goes."""
    if params is None or seconds() <= 0:
        return build()
    if center_ids is None:
        keys = [GLOBAL, ANY]
    else:
        keys = [GLOBAL, *(center_key(pk) for pk in sorted(center_ids))]
    page_key = _page_key(center_ids, today, params)
    try:
        found = cache.get_many([*keys, page_key])
        tokens = draw(keys, found, VERSION_SECONDS)
    except Exception:  # no cache: the database answers, as without this module
        log.exception("worklist cache: cache unavailable")
        return build()
    page = found.get(page_key)
    if page is not None and page[0] == tokens:
        return page[1]
    html = build()  # after the tokens were taken: see the module's docstring
    try:
        cache.set(page_key, (tokens, html), seconds())
    except Exception:
        log.exception("worklist cache: could not store a page")
    return html


# ---------------------------------------------------------------- what changes the lists
#
# Connected when tracker.services is imported (every process: notifications' AppConfig.ready
# imports it). Writes that bypass signals bump explicitly: tracker.services.plans._apply
# (bulk_create of labs), tracker.services.results.review_result (a queryset update) and the
# reminder dispatch (notifications/dispatch.py).


def _center_of_journey(instance):
    """The center of the instance's journey: from the loaded journey, else one query."""
    journey = instance._state.fields_cache.get("journey")
    if journey is not None:
        return [journey.center_id]
    return Journey.objects.filter(pk=instance.journey_id).values_list("center_id", flat=True)


@receiver(post_save, sender=ScheduledLab, dispatch_uid="worklist_cache.lab_saved")
@receiver(post_delete, sender=ScheduledLab, dispatch_uid="worklist_cache.lab_deleted")
@receiver(post_save, sender=LabResult, dispatch_uid="worklist_cache.result_saved")
@receiver(post_delete, sender=LabResult, dispatch_uid="worklist_cache.result_deleted")
@receiver(post_save, sender=MonitoringPlan, dispatch_uid="worklist_cache.plan_saved")
@receiver(post_delete, sender=MonitoringPlan, dispatch_uid="worklist_cache.plan_deleted")
@receiver(post_save, sender=PlanReview, dispatch_uid="worklist_cache.label_review_saved")
@receiver(post_delete, sender=PlanReview, dispatch_uid="worklist_cache.label_review_deleted")
def _journey_row_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        bump_centers(_center_of_journey(instance))


@receiver(post_save, sender=PlanItem, dispatch_uid="worklist_cache.item_saved")
@receiver(post_delete, sender=PlanItem, dispatch_uid="worklist_cache.item_deleted")
@receiver(post_save, sender=PlanVersion, dispatch_uid="worklist_cache.version_saved")
def _plan_row_changed(sender, instance, raw=False, **kwargs):
    if raw:
        return
    plan = instance._state.fields_cache.get("plan")
    if plan is not None:
        bump_centers(_center_of_journey(plan))
    else:
        plans = MonitoringPlan.objects.filter(pk=instance.plan_id)
        bump_centers(plans.values_list("journey__center_id", flat=True))


@receiver(pre_save, sender=Journey, dispatch_uid="worklist_cache.journey_pre_save")
def _remember_old_center(sender, instance, raw=False, update_fields=None, **kwargs):
    """A journey moved to another center leaves the old one's lists too."""
    if raw or instance.pk is None or (update_fields is not None and "center" not in update_fields):
        return
    old = Journey.objects.filter(pk=instance.pk).values_list("center_id", flat=True)
    instance._worklist_old_center_id = old.first()


@receiver(post_save, sender=Journey, dispatch_uid="worklist_cache.journey_saved")
@receiver(post_delete, sender=Journey, dispatch_uid="worklist_cache.journey_deleted")
def _journey_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        bump_centers([instance.center_id, getattr(instance, "_worklist_old_center_id", None)])


@receiver(post_save, sender=Patient, dispatch_uid="worklist_cache.patient_saved")
@receiver(post_delete, sender=Patient, dispatch_uid="worklist_cache.patient_deleted")
def _patient_changed(sender, instance, raw=False, **kwargs):
    """A name or birth date shows on every row of the child's journeys."""
    if raw:
        return
    journeys = Journey.objects.filter(patient_id=instance.pk).values_list("center_id", flat=True)
    bump_centers([instance.center_id, *journeys])


@receiver(post_save, sender=Center, dispatch_uid="worklist_cache.center_saved")
@receiver(post_delete, sender=Center, dispatch_uid="worklist_cache.center_deleted")
def _center_changed(sender, instance, raw=False, **kwargs):
    """Also a new center: its pk may have had lists in a database rolled back since (tests)."""
    if not raw:
        bump_centers([instance.pk])


@receiver(post_save, sender=LabTest, dispatch_uid="worklist_cache.lab_test_saved")
@receiver(post_delete, sender=LabTest, dispatch_uid="worklist_cache.lab_test_deleted")
def _catalogue_changed(sender, raw=False, **kwargs):
    if not raw:
        bump_all()
