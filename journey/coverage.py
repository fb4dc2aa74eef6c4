"""Insurance rules: does an approval cover a day, and may the journey move to "infusion
scheduled"? move_stage (journey.services) asks `infusion_cover_details`.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .models import STAGE_ORDER, AuthorizationStatus, PriorAuthorization, Stage

# Days before "approved until" on which the center's coordinators are reminded.
EXPIRY_REMINDER_DAYS = (60, 30, 7)
SCHEDULED_AT = STAGE_ORDER.index(Stage.INFUSION_SCHEDULED)


def covering_authorization(journey, day):
    """The approval that covers `day` (decided on or before it, approved until on or after
    it), the one lasting longest first; None when none does."""
    return (
        PriorAuthorization.objects.filter(
            journey=journey,
            status=AuthorizationStatus.APPROVED,
            decision_on__lte=day,
            approved_until__gte=day,
        )
        .order_by("-approved_until", "-pk")
        .first()
    )


def authorization_covers(journey, day):
    return covering_authorization(journey, day) is not None


def crosses_into_scheduled(journey, to_stage):
    """A forward move from before "infusion scheduled" to it or past it."""
    if to_stage not in STAGE_ORDER or journey.stage not in STAGE_ORDER:
        return False
    here, there = STAGE_ORDER.index(journey.stage), STAGE_ORDER.index(to_stage)
    return here < SCHEDULED_AT <= there


def infusion_cover_details(journey, to_stage, override_reason, today):
    """What to record about the payer's cover with a move into "infusion scheduled".

    The day checked is the infusion date, or today at the center while none is set (the
    approval must be in force now). No cover: refused unless the coordinator gives a reason,
    which the stage change keeps (and the audit trail with it)."""
    if not crosses_into_scheduled(journey, to_stage):
        return {}
    day = journey.infusion_date or today
    approval = covering_authorization(journey, day)
    if approval is not None:
        return {"authorization": str(approval.public_id)}
    if not override_reason:
        raise ValidationError(
            {
                "override_reason": _(
                    "No approved prior authorization covers %(day)s. Record the payer's "
                    "approval on the journey, or give a reason to schedule anyway."
                )
                % {"day": day.isoformat()}
            }
        )
    return {"authorization_overridden": day.isoformat()}


def check_infusion_date_cover(journey, new_date, uncovered_ok):
    """A new infusion date while the infusion is scheduled must be covered by an approval,
    or the coordinator says so (`uncovered_ok`; the date change keeps the reason)."""
    if journey.stage != Stage.INFUSION_SCHEDULED or new_date is None or uncovered_ok:
        return False
    if authorization_covers(journey, new_date):
        return False
    raise ValidationError(
        {
            "uncovered_ok": _(
                "No approved prior authorization covers %(day)s. Record the payer's approval "
                "on the journey, or tick this box and give the reason to set the date anyway."
            )
            % {"day": new_date.isoformat()}
        }
    )
