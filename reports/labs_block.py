"""The family's own outside results on the child's labs page (tracker.portal.extras)."""

from . import outside


def outside_results_block(child):
    """One query: this child's reports not checked yet, and the link to send one."""
    context = {"child": child, "pending": outside.pending_for(child)}
    return "portal/reports/_outside_block.html", context
