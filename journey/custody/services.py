"""A coordinator's custody use cases: restrict a guardian, lift it, record an adult
guardianship, invite the young person to an account of their own.

Each writes its PortalAccessChange row (the guardian's access history) in the same transaction
and announces `access_changed` after commit (reminders follow who may still see the child).
"""

import logging
import smtplib
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from journey import signals, uploads
from journey.ages import age_in_years
from journey.inputs import require_reason
from journey.models import (
    AdultGuardianship,
    AgePolicy,
    Guardian,
    Guardianship,
    GuardianshipRestriction,
    PortalAccessChange,
    RestrictionKind,
    RestrictionSource,
)
from journey.models.custody import DEFAULT_AGE_POLICY
from journey.portal import emails, invitations

Action = PortalAccessChange.Action
log = logging.getLogger(__name__)
Role = Guardianship.Role


def log_change(guardian, action, by, now):
    PortalAccessChange.objects.create(guardian=guardian, action=action, by=by, at=now)


def announce(patient_ids):
    """After commit: who may see these children changed."""
    ids = sorted(set(patient_ids))
    transaction.on_commit(lambda: signals.access_changed.send(sender=Guardianship, patient_ids=ids))


def _document_type(document):
    if not document:
        raise ValidationError(
            {"document": _("Attach the document (court order, custody agreement).")}
        )
    wrong = _("Attach a PDF or a photo (JPEG or PNG) of the document.")
    return uploads.checked_type(document, field="document", wrong_type=wrong)


def restrict(guardianship, *, kind, reason, document, by, starts_at=None, now=None):
    """Limit one guardian's access to one child (court order, custody agreement). In force from
    `starts_at` (now by default): journey.access reads it on the guardian's next request."""
    reason = require_reason(reason)
    if kind not in RestrictionKind.values:
        raise ValidationError({"kind": _("Choose a kind of restriction.")})
    document_type = _document_type(document)
    now = now or timezone.now()
    restriction = GuardianshipRestriction(
        guardianship=guardianship,
        kind=kind,
        source=RestrictionSource.COORDINATOR,
        reason=reason,
        document_type=document_type,
        starts_at=starts_at or now,
        created_by=by,
        created_at=now,
    )
    restriction.document = document
    with transaction.atomic():
        restriction.save()
        log_change(guardianship.guardian, Action.RESTRICTED, by, now)
        announce([guardianship.patient_id])
    return restriction


def lift_restriction(restriction, *, reason, by, now=None):
    """End a restriction (it stays in the history with who ended it and why)."""
    reason = require_reason(reason, "end_reason")
    now = now or timezone.now()
    with transaction.atomic():
        locked = GuardianshipRestriction.objects.select_for_update().get(pk=restriction.pk)
        if locked.ends_at is not None and locked.ends_at <= now:
            raise ValidationError(_("This restriction has already ended."))
        _end(locked, reason, by, now)
        log_change(locked.guardianship.guardian, Action.RESTRICTION_ENDED, by, now)
        announce([locked.guardianship.patient_id])
    return locked


def _end(restriction, reason, by, now):
    # A restriction that has not started yet ends the instant after its start (the
    # constraint wants ends_at > starts_at): it never took effect.
    restriction.ends_at = max(now, restriction.starts_at + timedelta(microseconds=1))
    restriction.ended_by = by
    restriction.end_reason = reason
    restriction.save(update_fields=["ends_at", "ended_by", "end_reason"])


def record_adult_guardianship(guardianship, *, reason, document, by, now=None):
    """A documented guardianship of the adult: this guardian keeps access when the age policy
    would end or limit it (and an age-policy restriction already in force ends now)."""
    reason = require_reason(reason)
    document_type = _document_type(document)
    now = now or timezone.now()
    record = AdultGuardianship(
        guardianship=guardianship,
        reason=reason,
        document_type=document_type,
        recorded_by=by,
        recorded_at=now,
    )
    record.document = document
    with transaction.atomic():
        record.save()
        in_force = guardianship.restrictions.filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=now), source=RestrictionSource.AGE_POLICY
        ).select_for_update()
        for restriction in in_force:
            _end(restriction, _("Adult guardianship recorded."), by, now)
        log_change(guardianship.guardian, Action.ADULT_GUARDIANSHIP, by, now)
        announce([guardianship.patient_id])
    return record


def own_account_age(center_id):
    """The youngest age at which a child of the center may have an account of their own: the
    first age of the center's policy (of the default policy for a center without rows)."""
    ages = AgePolicy.objects.filter(center_id=center_id).values_list("age_years", flat=True)
    return min(ages, default=None) or min(age for age, _change in DEFAULT_AGE_POLICY)


def check_young_person_age(patient, now):
    """A ValidationError when the child is younger than the center's own-account age."""
    today = timezone.localtime(now, ZoneInfo(patient.center.time_zone)).date()
    youngest = own_account_age(patient.center_id)
    if age_in_years(patient.date_of_birth, today) < youngest:
        raise ValidationError(
            _(
                "%(name)s is younger than %(age)d, the age from which this center's policy "
                "lets a child have an account of their own."
            )
            % {"name": patient.first_name, "age": youngest}
        )


def invite_young_person(patient, *, email, by, language="", now=None):
    """An account of the patient's own: a Guardian row for the patient themselves (relationship
    "self"), view-only until the age policy makes them the account holder, and the usual
    invitation (journey.portal.invitations). Refused for a child under the center's
    own-account age. Returns (guardian, invitation, raw token)."""
    now = now or timezone.now()
    check_young_person_age(patient, now)
    email = (email or "").strip().lower()
    if not email:
        raise ValidationError({"email": _("Give the young person's own email address.")})
    invitations.check_email_free(email, Guardian(pk=None))
    with transaction.atomic():
        guardian = Guardian.objects.create(
            center_id=patient.center_id,
            full_name=f"{patient.first_name} {patient.last_name}",
            email=email,
            language=language or Guardian._meta.get_field("language").default,
        )
        Guardianship.objects.create(
            guardian=guardian,
            patient=patient,
            relationship=Guardianship.Relationship.SELF,
            role=Role.VIEW_ONLY,
        )
        invitation, raw = invitations.invite(guardian, by=by, now=now)
        transaction.on_commit(lambda: _send(invitation, raw))
    return guardian, invitation, raw


def _send(invitation, raw):
    """After commit; a mail failure is logged (the coordinator re-sends from the guardian's
    page), never an error page."""
    try:
        emails.send_invitation(invitation, raw)
    except (smtplib.SMTPException, OSError):
        log.exception("Invitation email to guardian %s failed", invitation.guardian_id)
