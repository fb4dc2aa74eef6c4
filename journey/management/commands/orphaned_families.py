"""List families whose assigned coordinator is deactivated or left the family's center.

Exit status 1 when there is any, so a scheduled run (cron, CI) can raise the alarm."""

from django.core.management.base import BaseCommand

from journey.staffing import orphans


class Command(BaseCommand):
    help = "List families whose coordinator can no longer look after them."

    def handle(self, *args, **options):
        found = list(orphans())
        for a in found:
            state = "deactivated" if not a.coordinator.is_active else "left the center"
            self.stdout.write(
                f"{a.patient.center.name}\t{a.patient.public_id}\t{a.coordinator.email}\t{state}"
            )
        if found:
            self.stderr.write(f"{len(found)} families without an active coordinator")
            raise SystemExit(1)
        self.stdout.write("No orphaned families.")
