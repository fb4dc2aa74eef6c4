"""The follow-up report on the command line: per year since infusion, children with their
yearly visit in its window, at risk and lost (tracker.followup.report, as the admin page).

Read-only: it only counts. `--center` picks centers whose name starts with NAME (every center
by default); `--csv` prints the admin page's CSV instead of a table."""

import zoneinfo

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from journey.models import Center
from tracker.followup import report, report_csv

HEADER = ("Year", "Visit in window", "At risk", "Lost")


def table(rows):
    lines = [" | ".join(HEADER)]
    widths = [len(h) for h in HEADER]
    for r in rows:
        cells = (r.year, r.in_window, r.at_risk, r.lost)
        lines.append(" | ".join(str(c).rjust(w) for c, w in zip(cells, widths, strict=True)))
    if not rows:
        lines.append("(no child infused yet)")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Print the follow-up report (per year since infusion) of one center or all."

    def add_arguments(self, parser):
        parser.add_argument("--center", default="", help="Centers whose name starts with this.")
        parser.add_argument("--csv", action="store_true", help="CSV instead of a table.")

    def handle(self, *args, center="", csv=False, **options):
        centers = Center.objects.order_by("name")
        if center:
            centers = centers.filter(name__startswith=center)
        centers = list(centers)
        if not centers:
            raise CommandError(f"No center named {center!r}.")
        for c in centers:
            today = timezone.localdate(timezone=zoneinfo.ZoneInfo(c.time_zone))
            rows = report(c, today)
            if csv:
                self.stdout.write(f"# {c.name}\n{report_csv(rows)}", ending="")
            else:
                self.stdout.write(f"{c.name} (today {today.isoformat()})\n{table(rows)}\n")
