"""List families whose assigned coordinator is deactivated or left the family's center, and
the registered items (open message threads) whose holder did.

Exit status 1 when there is any, so a scheduled run (cron, CI) can raise the alarm."""

from django.core.management.base import BaseCommand

from journey.staffing import orphaned_items, orphans


def state(user):
    return "deactivated" if not user.is_active else "left the center"


class Command(BaseCommand):
    help = "List families whose coordinator can no longer look after them."

    def handle(self, *args, **options):
        found = list(orphans())
        for a in found:
            self.stdout.write(
                f"{a.patient.center.name}\t{a.patient.public_id}\t{a.coordinator.email}"
                f"\t{state(a.coordinator)}"
            )
        items = orphaned_items()
        for o in items:
            self.stdout.write(
                f"{o.center.name}\t{o.patient.public_id}\t{o.holder.email}\t{state(o.holder)}"
                f"\t{o.kind}"
            )
        if found:
            self.stderr.write(f"{len(found)} families without an active coordinator")
        if items:
            self.stderr.write(f"{len(items)} other items (e.g. message threads) without one")
        if found or items:
            raise SystemExit(1)
        self.stdout.write("No orphaned families or items.")
