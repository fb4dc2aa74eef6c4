"""Print one child's timeline from 6 months to 19 years: each age-policy notice (to whom, by
which channel), access change, guardian roles before/after, invitation and yearly contact
check, as the beat's services write them. Everything happens in one transaction that is
rolled back: the database is left as it was."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from devdata import timeline


class Rollback(Exception):
    """Raised at the end of the walk so the transaction never commits."""


class Command(BaseCommand):
    help = "Replay a demo child's years (6 months to 19) and print what changed; writes nothing."

    def add_arguments(self, parser):
        parser.add_argument("--child", default="", help="A child's public id or first name.")

    def handle(self, *args, child="", **options):
        try:
            with transaction.atomic():
                lines = self._walk(child)
                raise Rollback
        except Rollback:
            pass
        for day, age, text in lines:
            self.stdout.write(f"{day.isoformat()}  {age}  {text}")

    def _walk(self, wanted):
        today = dt.date.today()
        patient = timeline.pick_child(wanted, today)
        if patient is None and wanted:
            raise CommandError(f"No child {wanted!r}.")
        patient = patient or timeline.build_child(today)
        walk = timeline.Walk(patient)
        steps = timeline.moments(patient)
        walk.start(steps[0].day)
        # The bar shows only when the walk takes more than two seconds (a big database).
        for moment in tqdm(steps, desc="timeline", unit="step", delay=2, leave=False):
            walk.run(moment)
        last = steps[-1].day
        walk.say(last, f"end; who may see the child now: {walk.who_sees(last)}")
        return walk.lines
