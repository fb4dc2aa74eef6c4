"""Pick up HL7 files from the drop folder (docs/interfaces.md); --once for a single pass."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand

from interfaces.folder import pick_up


class Command(BaseCommand):
    help = "Store each HL7 message file of the drop folder's incoming/ through the inbox."

    def add_arguments(self, parser):
        parser.add_argument("--folder", default=settings.WAYPOINT_HL7_DROP_DIR)
        parser.add_argument("--once", action="store_true")
        parser.add_argument("--every", type=float, default=5.0)

    def handle(self, *args, folder, once, every, **options):
        while True:
            taken = pick_up(folder)
            if taken:
                self.stdout.write(f"{taken} file(s) taken from {folder}")
            if once:
                return
            time.sleep(every)
