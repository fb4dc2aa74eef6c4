"""The worklist's "Results from lab systems not matched" section (registered in apps.ready)."""

from django.utils.translation import gettext_lazy as _

from tracker.services import WorklistSection

from .resolve import unmatched_for


def unmatched_results(user, at=None):
    rows = unmatched_for(user).select_related("message", "test")
    return WorklistSection(
        "unmatched-results",
        _("Results from lab systems waiting to be matched"),
        "admin/interfaces/_worklist_unmatched.html",
        rows,
        empty=_("Every result from the lab systems was matched."),
    )
