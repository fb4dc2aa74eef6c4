"""`manage.py seed_scale --patients N --centers M`: a large, realistic data set for benches."""

import sys
import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from devdata import scale


class Command(BaseCommand):
    help = (
        "Build N patients across M scale centers: journeys at every stage, plans, years of "
        "results, guardians and coordinators (bulk inserts; for benches, never production)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=10_000)
        parser.add_argument("--centers", type=int, default=20)
        parser.add_argument("--seed", type=int, default=0, help="Same seed, same data.")
        parser.add_argument("--append", action="store_true", help="Add to an existing scale set.")
        parser.add_argument(
            "--today", type=date.fromisoformat, default=None, help="Pretend today is YYYY-MM-DD."
        )
        parser.add_argument(
            "--chunk", type=int, default=scale.CHUNK_PATIENTS, help="Patients per transaction."
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        if opts["patients"] < 1 or opts["centers"] < 1 or opts["chunk"] < 1:
            raise CommandError("--patients, --centers and --chunk must be at least 1.")
        existing = scale.scale_patients().count()
        if existing and not opts["append"]:
            raise CommandError(
                f"This database already holds {existing} scale patients; pass --append to add "
                "more, or use an empty database."
            )
        started = time.monotonic()
        bar = tqdm(
            total=opts["patients"],
            unit="patients",
            file=sys.stderr,
            disable=opts["no_progress"],
        )
        try:
            scale.seed(
                opts["patients"],
                opts["centers"],
                seed=opts["seed"],
                today=opts["today"],
                progress=bar.update,
                chunk=opts["chunk"],
            )
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        seconds = time.monotonic() - started
        self.stdout.write(
            f"Seeded {opts['patients']} patients across {opts['centers']} centers "
            f"in {seconds:.1f} s."
        )
