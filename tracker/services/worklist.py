"""The worklist's lists: one queryset each, scoped to the user's centers, open journeys only."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from journey.access import scope_to_centers
from journey.models import OPEN_STAGES

from ..models import LabResult, PlanItem, ScheduledLab


def _open_journeys(queryset, user, path="journey"):
    scoped = scope_to_centers(queryset, user, f"{path}__center")
    return scoped.filter(**{f"{path}__stage__in": OPEN_STAGES})


def overdue_labs(user, today=None):
    """Open labs whose window has closed, oldest first (worklist; reminders may reuse)."""
    today = today or timezone.localdate()
    labs = ScheduledLab.objects.overdue(today).with_status(today)
    return (
        _open_journeys(labs, user)
        .select_related("item", "journey__patient")
        .order_by("window_end", "pk")
    )


def labs_due_soon(user, today=None, days=7):
    """Open labs due from today to `days` ahead."""
    today = today or timezone.localdate()
    labs = ScheduledLab.objects.due_between(today, today + timedelta(days=days)).with_status(today)
    return (
        _open_journeys(labs, user)
        .select_related("item", "journey__patient")
        .order_by("due_on", "pk")
    )


def results_awaiting_review(user):
    results = LabResult.objects.awaiting_review()
    return (
        _open_journeys(results, user)
        .select_related("test", "journey__patient")
        .order_by("collected_at", "pk")
    )


def open_extensions(user):
    items = PlanItem.objects.filter(extended_at__isnull=False, extension_ended_at__isnull=True)
    return (
        _open_journeys(items, user, "plan__journey")
        .select_related("plan__journey__patient")
        .order_by("extended_at", "pk")
    )


# Higher apps (notifications) add lists to the worklist without tracker importing them: each
# provider is a callable (user) -> WorklistSection, registered in the app's AppConfig.ready.
@dataclass(frozen=True)
class WorklistSection:
    key: str
    title: str
    template: str
    rows: list


_SECTION_PROVIDERS = []


def register_worklist_section(provider):
    if provider not in _SECTION_PROVIDERS:
        _SECTION_PROVIDERS.append(provider)
    return provider


def extra_sections(user):
    """The registered sections for this user, each with its rows already fetched."""
    return [provider(user) for provider in _SECTION_PROVIDERS]
