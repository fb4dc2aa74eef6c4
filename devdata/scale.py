"""Scale data for `manage.py seed_scale`: many centers, families, journeys, plans and results.

Everything is built in Python and written with bulk_create, one transaction per chunk of
patients, so the number of queries grows with the number of chunks, not of rows. Plans are
drawn with tracker.schedule.expand (what generate_plan does, without its per-journey queries)
and results are flagged with tracker.flags, the same pure rules record_results uses.

Rows are recognisable: centers are named "Scale center NNN" and every email ends in
@scale.waypoint.test. The same --seed, size and day give the same data.
"""

import random
import uuid
from datetime import date

from django.contrib.auth.models import Group
from django.db import connection

from journey.models import Center, Journey, Membership, Patient, User
from journey.roles import COORDINATOR_GROUP
from tracker.models import LabResult, PlanItem, ScheduledLab

from .scale_builder import Builder
from .scale_data import (
    CENTER_PREFIX,
    CHUNK_PATIENTS,
    COORDINATORS_PER_CENTER,
    DOMAIN,
    UNUSABLE_PASSWORD,
    ZONES,
    Catalogue,
    scale_patients,
)

__all__ = ["CENTER_PREFIX", "CHUNK_PATIENTS", "DOMAIN", "analyze", "scale_patients", "seed"]


def ensure_centers(count, rng):
    """The first `count` scale centers, each with its coordinators: [(center, [users])]."""
    group, _created = Group.objects.get_or_create(name=COORDINATOR_GROUP)
    out = []
    for n in range(1, count + 1):
        center, created = Center.objects.get_or_create(
            name=f"{CENTER_PREFIX}{n:03d}",
            defaults={
                "public_id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "time_zone": ZONES[n % len(ZONES)],
                "main_phone": f"+1 555 01{n:04d}",
                "after_hours_phone": f"+1 555 09{n:04d}",
            },
        )
        if created:
            _coordinators(center, n, group)
        coordinators = list(User.objects.filter(memberships__center=center).order_by("pk"))
        out.append((center, coordinators))
    return out


def _coordinators(center, n, group):
    users = User.objects.bulk_create(
        [
            User(
                email=f"coord{n:03d}.{k}@{DOMAIN}",
                full_name=f"Coordinator {k} of center {n}",
                password=UNUSABLE_PASSWORD,
                is_staff=True,
                time_zone=center.time_zone,
            )
            for k in range(1, COORDINATORS_PER_CENTER + 1)
        ]
    )
    Membership.objects.bulk_create([Membership(user=u, center=center) for u in users])
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=u.pk, group_id=group.pk) for u in users]
    )


def seed(patients, centers, *, seed=0, today=None, progress=None, chunk=CHUNK_PATIENTS):
    """Add `patients` patients across `centers` scale centers; returns the first new index."""
    today = today or date.today()
    offset = scale_patients().count()
    rng = random.Random(f"{seed}:{offset}")
    builder = Builder(rng, today, ensure_centers(centers, rng), Catalogue())
    done = 0
    while done < patients:
        count = min(chunk, patients - done)
        builder.chunk(offset + done, count)
        done += count
        if not connection.force_debug_cursor:
            # With DEBUG on Django keeps the last 9,000 statements, bulk INSERTs included:
            # hundreds of MB by 50,000 patients. Not while a test is counting queries.
            connection.queries_log.clear()
        if progress:
            progress(count)
    analyze()
    return offset


def analyze():
    """Fresh planner statistics: right after a bulk load PostgreSQL still thinks the tables are
    small and picks the wrong index (record_results went from 0.1 ms to 60 ms a query)."""
    tables = [m._meta.db_table for m in (ScheduledLab, LabResult, PlanItem, Journey, Patient)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))
        else:
            cursor.execute("ANALYZE")
