"""A result entered in error: it keeps its row and history but no longer counts.

Corrections with a new value are tracker.services.results.correct_result; this is the other
way out, for a value that was never the child's (another child's sample, a test not drawn).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from journey.inputs import require_reason

from .. import signals
from ..models import LabResult, PlanItem
from .exit_rules import _apply_exit_rule, _deciding_draw
from .results import _complete_draws, _rebase_later_results


def mark_entered_in_error(result, *, by, reason, now=None):
    """Withdraw a result (who, when, why). Its draw opens again when it lacks the result now,
    later results take a new baseline, and the exit rules are judged again."""
    reason = require_reason(reason)
    now = now or timezone.now()
    with transaction.atomic():
        old = (
            LabResult.objects.select_for_update()
            .select_related("test", "journey")
            .get(pk=result.pk)
        )
        if not old.is_current:
            raise ValidationError(_("This result no longer counts: it was corrected or withdrawn."))
        old.entered_in_error_at, old.entered_in_error_by = now, by
        old.entered_in_error_reason = reason
        old.save(
            update_fields=["entered_in_error_at", "entered_in_error_by", "entered_in_error_reason"]
        )
        labs = {old.scheduled_lab_id} - {None}
        _complete_draws(labs, by)
        labs |= _rebase_later_results(old.journey, [old])
        for item in PlanItem.objects.filter(scheduled__in=labs).distinct():
            _rejudge(item, by, now)
        journey = old.journey
        transaction.on_commit(
            lambda: signals.results_recorded.send(
                sender=LabResult, journey=journey, result_ids=[], critical_ids=[]
            )
        )
    result.refresh_from_db()
    return result


def _rejudge(item, by, now):
    """Judge the rule on the draw that decides now; with none left (the withdrawn result was
    the one that extended the series), the extension it caused is undone."""
    draw = _deciding_draw(item)
    if draw is not None:
        _apply_exit_rule(item, {draw.pk}, by, now)
        return
    if not item.extension_open or item.extension_closed_by_hand:
        return
    reason = _("The result that extended it was entered in error")
    item.scheduled.open().filter(extension=True).update(cancelled_at=now, cancel_reason=reason)
    item.extended_at, item.held_open_by = None, []
    item.save(update_fields=["extended_at", "held_open_by"])
