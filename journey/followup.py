"""Keeping families in follow-up: contact checks, "at risk" marks and hand-overs.

- Once a year in long-term follow-up (and when an email bounces or reminders go unanswered:
  notifications asks) each guardian is asked to confirm their contact details. The email's
  signed link confirms "still correct" without a login; a change is made in the portal.
- A check not answered by its day, a bounce, unanswered reminders or a missed yearly visit
  (tracker asks) marks the child "at risk of loss to follow-up", one open mark per reason.
- A coordinator hands a child over to another center: the child and every journey move, a
  CenterTransfer row keeps who, when and why; the old center keeps read-only history.
"""

from datetime import timedelta

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import access, signals
from .inputs import require_reason
from .models import (
    CenterTransfer,
    CheckReason,
    ContactConfirmation,
    FollowUpRisk,
    Journey,
    Patient,
    RiskReason,
    Stage,
)

CONFIRM_SALT = "journey.contact-check"
ANSWER_DAYS = 30  # a check not answered within this many days marks the child at risk
LINK_DAYS = 60  # the email's link works this long
YEAR = timedelta(days=365)
# Answering a check clears these marks; a missed visit is cleared by the visit (tracker).
CLEARED_BY_ANSWER = [RiskReason.NO_ANSWER, RiskReason.BOUNCED, RiskReason.UNANSWERED]


def confirmation_token(check):
    return signing.dumps({"c": str(check.public_id)}, salt=CONFIRM_SALT)


def check_from_token(token, now=None):
    """The ContactConfirmation a link names; None for a forged link, "expired" for an old one."""
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=LINK_DAYS * 86400)
    except signing.SignatureExpired:
        return "expired"
    except signing.BadSignature:
        return None
    check = ContactConfirmation.objects.select_related("guardian", "patient__center")
    return check.filter(public_id=data.get("c")).first()


def request_check(patient, reason, now=None):
    """Ask every guardian who may still see the child (not one whose access ended, e.g. a
    parent after the child's 18th birthday) and has no open check; the new checks
    (idempotent)."""
    now = now or timezone.now()
    answer_by = timezone.localdate(now) + timedelta(days=ANSWER_DAYS)
    created = []
    links = access.links_with_access(now).filter(patient=patient)
    for guardian_id in links.values_list("guardian_id", flat=True):
        try:
            with transaction.atomic():
                created.append(
                    ContactConfirmation.objects.create(
                        patient=patient,
                        guardian_id=guardian_id,
                        reason=reason,
                        requested_at=now,
                        answer_by=answer_by,
                    )
                )
        except IntegrityError:
            continue  # already asked, not answered yet
    return created


@transaction.atomic
def confirm(check, now=None):
    """ "Still correct": the check is answered and the child's contact marks are cleared."""
    now = now or timezone.now()
    updated = ContactConfirmation.objects.filter(pk=check.pk, answered_at__isnull=True).update(
        answered_at=now
    )
    if updated:
        resolve_risks(check.patient, CLEARED_BY_ANSWER, note="contact details confirmed", now=now)
    check.refresh_from_db()
    return bool(updated)


def mark_at_risk(patient_id, reason, detail="", now=None):
    """Mark the child at risk for `reason` unless already marked (one open mark per reason)."""
    try:
        with transaction.atomic():
            return FollowUpRisk.objects.create(
                patient_id=patient_id, reason=reason, detail=detail, marked_at=now or timezone.now()
            )
    except IntegrityError:
        return None


def resolve_risks(patient, reasons, *, by=None, note="", now=None):
    return FollowUpRisk.objects.filter(
        patient=patient, reason__in=reasons, resolved_at__isnull=True
    ).update(resolved_at=now or timezone.now(), resolved_by=by, resolution=note)


def children_due_a_yearly_check(now):
    """Children in long-term follow-up not asked in the last year (one query)."""
    asked = ContactConfirmation.objects.filter(requested_at__gte=now - YEAR)
    return (
        Patient.objects.filter(journeys__stage=Stage.FOLLOW_UP, guardianships__isnull=False)
        .exclude(pk__in=asked.values("patient_id"))
        .distinct()
    )


def sweep(now=None):
    """The periodic pass (hourly task): yearly checks asked, late answers marked. Safe to run
    twice."""
    now = now or timezone.now()
    asked = sum(
        len(request_check(p, CheckReason.YEARLY, now)) for p in children_due_a_yearly_check(now)
    )
    late = ContactConfirmation.objects.filter(
        answered_at__isnull=True, answer_by__lt=timezone.localdate(now)
    ).values_list("patient_id", "answer_by")
    marked = 0
    for patient_id, answer_by in late:
        detail = f"no answer since {answer_by.isoformat()}"
        marked += mark_at_risk(patient_id, RiskReason.NO_ANSWER, detail, now) is not None
    return {"asked": asked, "marked": marked}


@transaction.atomic
def transfer_patient(patient, to_center, *, by, reason, now=None):
    """Hand the child, with every journey and its history, over to `to_center`."""
    reason = require_reason(reason)
    now = now or timezone.now()
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if locked.center_id == to_center.pk:
        raise ValidationError({"to_center": _("The child is already at this center.")})
    transfer = CenterTransfer.objects.create(
        patient=locked,
        from_center_id=locked.center_id,
        to_center=to_center,
        moved_by=by,
        moved_at=now,
        reason=reason,
    )
    locked.center = to_center
    locked.save(update_fields=["center"])
    Journey.objects.filter(patient=locked).update(center=to_center)
    signals.journeys_moved.send(sender=Journey, patient_id=locked.pk, to_center_id=to_center.pk)
    transaction.on_commit(
        lambda: signals.patient_transferred.send(sender=CenterTransfer, transfer=transfer)
    )
    patient.refresh_from_db()
    return transfer
