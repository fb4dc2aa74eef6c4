"""The family's own outside results on the child's labs page (tracker.portal.extras)."""

from . import outside


def outside_results_block(child, journey):
    """One query: this child's reports not checked yet, and the link to send one (a result
    belongs to a journey: none yet, no link)."""
    context = {"child": child, "pending": outside.pending_for(child), "can_send": bool(journey)}
    return "portal/reports/_outside_block.html", context
