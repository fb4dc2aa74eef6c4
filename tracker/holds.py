"""Why an exit rule is still unmet: the reasons stored in PlanItem.held_open_by, and their words.

Kept apart from models.py (its size) and flags.py (which imports the models): both use it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class HoldReason(models.TextChoices):
    """Why a test keeps an exit rule unmet (PlanItem.held_open_by); labels take the hold's
    numbers: {"test": "PLT", "reason": "below_baseline", "pct": "80", "baseline": "250"}."""

    ABOVE_X_ULN = "above_x_uln", _("%(test)s at or above %(x)s times the upper limit")
    ABOVE_RANGE = "above_range", _("%(test)s above range")
    BELOW_RANGE = "below_range", _("%(test)s below range")
    ABOVE_BASELINE = "above_baseline", _("%(test)s above %(pct)s%% of baseline %(baseline)s")
    BELOW_BASELINE = "below_baseline", _("%(test)s below %(pct)s%% of baseline %(baseline)s")
    ABOVE_RANGE_NO_BASELINE = (
        "above_range_no_baseline",
        _("%(test)s above range (no baseline recorded: range used)"),
    )
    BELOW_RANGE_NO_BASELINE = (
        "below_range_no_baseline",
        _("%(test)s below range (no baseline recorded: range used)"),
    )
    MISSING = "missing", _("%(test)s: no result yet")


def hold_text(hold):
    """One hold in the reader's language: "TBIL above range"."""
    try:
        return str(HoldReason(hold["reason"]).label) % hold
    except (KeyError, ValueError, TypeError):
        return str(hold.get("test", ""))
