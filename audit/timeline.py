"""A patient's audit timeline: the audit records and the domain's own history rows, merged,
newest first. A fixed number of queries whatever the length of the history (one per source).
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext as _

from journey.models import (
    EligibilityCheck,
    Guardianship,
    InfusionDateChange,
    PortalAccessChange,
    StageChange,
)
from notifications.models import DeliveryAttempt
from tracker.models import LabResult, PlanVersion

from .models import AuditRecord

PER_SOURCE = 300  # the newest rows of each source; the page says when there are more


@dataclass
class Entry:
    at: datetime
    source: str
    what: str
    actor: str = ""
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    why: str = ""
    key: tuple = ()  # (content type id, object id) of the row, to drop duplicates


def _who(user, email=""):
    if user is not None:
        return str(user.email)
    return email or _("system")


def _records(patient, guardian_ids):
    rows = (
        AuditRecord.objects.for_patient(patient.pk, guardian_ids)
        .select_related("actor", "content_type")
        .order_by("-timestamp", "-pk")[:PER_SOURCE]
    )
    for r in rows:
        what = f"{r.get_event_display()}: {r.content_type.name} “{r.object_repr}”"
        yield Entry(
            at=r.timestamp,
            source=_("audit record"),
            what=what,
            actor=_who(r.actor, r.actor_email),
            before=r.before,
            after=r.after,
            why=r.reason,
            key=(r.content_type_id, r.object_id, r.event),
        )


def _stage_changes(journeys, ct):
    rows = StageChange.objects.filter(journey__in=journeys).select_related("moved_by")
    for r in rows.order_by("-moved_at")[:PER_SOURCE]:
        yield Entry(
            at=r.moved_at,
            source=_("stage history"),
            what=_("Stage moved"),
            actor=_who(r.moved_by),
            before={"stage": r.get_from_stage_display()},
            after={"stage": r.get_to_stage_display()},
            why=" ".join(filter(None, [r.reason, r.override_reason])),
            key=(ct[StageChange], r.pk, "created"),
        )


def _infusion_dates(journeys, ct):
    rows = InfusionDateChange.objects.filter(journey__in=journeys).select_related("changed_by")
    for r in rows.order_by("-changed_at")[:PER_SOURCE]:
        yield Entry(
            at=r.changed_at,
            source=_("infusion date history"),
            what=_("Infusion date changed"),
            actor=_who(r.changed_by),
            before={"infusion_date": r.old_date},
            after={"infusion_date": r.new_date},
            why=r.reason,
            key=(ct[InfusionDateChange], r.pk, "created"),
        )


def _eligibility(journeys, ct):
    rows = EligibilityCheck.objects.filter(journey__in=journeys).select_related("run_by", "therapy")
    for r in rows.defer("results", "inputs").order_by("-run_at")[:PER_SOURCE]:
        yield Entry(
            at=r.run_at,
            source=_("eligibility checks"),
            what=_("Eligibility check run for %(therapy)s") % {"therapy": r.therapy.name},
            actor=_who(r.run_by),
            after={"verdict": r.get_verdict_display(), "as_of": r.as_of},
            key=(ct[EligibilityCheck], r.pk, "created"),
        )


def _plan_versions(journeys, ct):
    rows = PlanVersion.objects.filter(plan__journey__in=journeys).select_related("created_by")
    for r in rows.order_by("-created_at")[:PER_SOURCE]:
        yield Entry(
            at=r.created_at,
            source=_("plan versions"),
            what=_("Monitoring plan version %(n)s") % {"n": r.number},
            actor=_who(r.created_by),
            after={"infusion_date": r.infusion_date, "changes": r.changes},
            why=r.reason,
            key=(ct[PlanVersion], r.pk, "created"),
        )


def _results(journeys, ct):
    rows = LabResult.objects.filter(journey__in=journeys).select_related(
        "test", "entered_by", "reviewed_by", "supersedes"
    )
    for r in rows.order_by("-entered_at")[:PER_SOURCE]:
        value = f"{r.value_entered} {r.unit_entered}"
        if r.supersedes_id:
            old = r.supersedes
            yield Entry(
                at=r.entered_at,
                source=_("lab results"),
                what=_("Result corrected: %(test)s") % {"test": r.test.code},
                actor=_who(r.entered_by),
                before={"value": f"{old.value_entered} {old.unit_entered}", "flag": old.flag},
                after={"value": value, "flag": r.flag},
                why=r.correction_reason,
                key=(ct[LabResult], r.pk, "created"),
            )
        else:
            yield Entry(
                at=r.entered_at,
                source=_("lab results"),
                what=_("Result entered: %(test)s") % {"test": r.test.code},
                actor=_who(r.entered_by),
                after={"value": value, "flag": r.flag},
                key=(ct[LabResult], r.pk, "created"),
            )
        if r.reviewed_at:
            yield Entry(
                at=r.reviewed_at,
                source=_("lab results"),
                what=_("Result reviewed: %(test)s") % {"test": r.test.code},
                actor=_who(r.reviewed_by),
                before={"reviewed": False},
                after={"reviewed": True},
                why=r.review_note,
            )


def _portal_access(guardian_ids, ct):
    rows = PortalAccessChange.objects.filter(guardian_id__in=guardian_ids).select_related(
        "by", "guardian"
    )
    for r in rows.order_by("-at")[:PER_SOURCE]:
        yield Entry(
            at=r.at,
            source=_("portal access"),
            what=f"{r.get_action_display()}: {r.guardian.full_name}",
            actor=_who(r.by),
            key=(ct[PortalAccessChange], r.pk, "created"),
        )


def _reminder_sends(patient, ct):
    rows = DeliveryAttempt.objects.filter(reminder__patient=patient).select_related("reminder")
    for r in rows.order_by("-attempted_at")[:PER_SOURCE]:
        yield Entry(
            at=r.attempted_at,
            source=_("reminders"),
            what=f"{r.reminder.get_kind_display()} → {r.to_email}",
            actor=r.worker or _("system"),
            after={"outcome": r.get_outcome_display(), "error": r.error},
            key=(ct[DeliveryAttempt], r.pk, "created"),
        )


def timeline(patient):
    """Every entry about this patient, newest first (see the module docstring)."""
    ct = {
        m: c.pk
        for m, c in ContentType.objects.get_for_models(
            StageChange,
            InfusionDateChange,
            EligibilityCheck,
            PlanVersion,
            LabResult,
            PortalAccessChange,
            DeliveryAttempt,
        ).items()
    }
    journeys = patient.journeys.values("pk")
    guardian_ids = Guardianship.objects.filter(patient=patient).values("guardian_id")
    domain = [
        *_stage_changes(journeys, ct),
        *_infusion_dates(journeys, ct),
        *_eligibility(journeys, ct),
        *_plan_versions(journeys, ct),
        *_results(journeys, ct),
        *_portal_access(guardian_ids, ct),
        *_reminder_sends(patient, ct),
    ]
    shown = {e.key for e in domain if e.key}
    # A domain row's creation is shown once, from the domain row (it reads better).
    records = [e for e in _records(patient, guardian_ids) if e.key not in shown]
    entries = domain + records
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries
