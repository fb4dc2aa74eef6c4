"""Where draws happen: the plan's usual site (set once) and one draw's site (audited)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import DrawSiteChange, LocalLab, MonitoringPlan, ScheduledLab, SiteChoice


def _check_lab(lab, center_id):
    if lab is not None and lab.center_id != center_id:
        raise ValidationError({"local_lab": _("Choose a lab of the child's center.")})


def set_default_site(plan: MonitoringPlan, lab: LocalLab | None, sender: str):
    """The family's usual lab (None: the center) and who usually sends the result."""
    _check_lab(lab, plan.journey.center_id)
    plan.default_lab = lab
    plan.default_result_sender = sender
    plan.save(update_fields=["default_lab", "default_result_sender"])
    return plan


def set_draw_site(journey, due_on, *, site, lab=None, sender="", by, reason, now=None):
    """Move one draw (the journey's open rows due that day) to a site; returns rows changed.

    Leaves a DrawSiteChange (who, when, why); nothing is changed when the draw has no open row.
    """
    if site != SiteChoice.LOCAL_LAB:
        lab = None
    elif lab is None:
        raise ValidationError({"local_lab": _("Choose the local lab.")})
    _check_lab(lab, journey.center_id)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the draw moves.")})
    with transaction.atomic():
        rows = ScheduledLab.objects.open().filter(journey=journey, due_on=due_on)
        changed = rows.update(site=site, local_lab=lab, result_sender=sender)
        if changed:
            DrawSiteChange.objects.create(
                journey=journey,
                due_on=due_on,
                site=site,
                local_lab=lab,
                result_sender=sender,
                changed_by=by,
                changed_at=now or timezone.now(),
                reason=reason.strip(),
            )
    return changed
