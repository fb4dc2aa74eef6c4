"""Find the open journeys whose plan does not match their therapy and day 0, and redraw them.

The hourly beat task (tracker.tasks.repair_plans) does the same; this runs it by hand.
"""

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from tracker.services import drift


class Command(BaseCommand):
    help = "Redraw the plans that do not match their journey's therapy and day 0."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="List the journeys; change nothing."
        )
        parser.add_argument("--limit", type=int, help="Repair at most this many journeys.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        if opts["limit"] is not None and opts["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        drifts = drift.find_drift()
        if opts["dry_run"]:
            for d in drifts:
                self.stdout.write(f"journey {d.journey_id} ({d.public_id}): {d.kind}")
            self.stdout.write(f"{len(drifts)} journeys whose plan does not match them.")
            return
        counts = drift.repair_drift(
            drifts,
            limit=opts["limit"],
            progress=lambda todo: tqdm(
                todo, unit="journeys", file=sys.stderr, disable=opts["no_progress"]
            ),
        )
        self.stdout.write(
            f"{counts.found} found, {counts.repaired} repaired, {counts.failed} failed, "
            f"{counts.left} left for the next run."
        )
        if counts.failed:
            raise CommandError(f"{counts.failed} journeys could not be repaired: see the log.")
