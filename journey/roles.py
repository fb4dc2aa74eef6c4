"""The coordinator role: one Django group holding the model permissions coordinators need.

What a coordinator may *see* is decided by journey.access (their center); what they may *do*
by this group. It is kept in sync after every migrate.
"""

from django.contrib.auth.models import Group, Permission

COORDINATOR_GROUP = "Care coordinators"
APPS = ("journey", "tracker", "reports", "notifications", "interfaces", "conversations")
# Catalogue and people-management models: read-only to coordinators.
READ_ONLY_MODELS = {
    "therapy",
    "condition",
    "eligibilitycriterion",
    "findingtype",
    "steptemplate",
    "center",
    "membership",
    "user",
    "labsender",
    "inboundmessage",
}


def coordinator_permissions():
    perms = Permission.objects.filter(content_type__app_label__in=APPS).select_related(
        "content_type"
    )
    return [
        p
        for p in perms
        if p.content_type.model not in READ_ONLY_MODELS or p.codename.startswith("view_")
    ]


def sync_coordinator_group(**kwargs):
    group, _ = Group.objects.get_or_create(name=COORDINATOR_GROUP)
    group.permissions.set(coordinator_permissions())
    return group
