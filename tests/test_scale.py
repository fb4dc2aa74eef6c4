"""seed_scale: counts, every stage, constraints, and bulk writes (queries do not grow per row)."""

from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Count, Q
from django.test.utils import CaptureQueriesContext

from devdata import scale
from journey.models import (
    OPEN_STAGES,
    Guardian,
    Guardianship,
    Journey,
    MarketStatus,
    Patient,
    Stage,
    StageChange,
)
from tracker.models import LabResult, MonitoringPlan, PlanVersion, ScheduledLab

TODAY = date(2026, 3, 2)


def run(patients, centers=3, **extra):
    call_command(
        "seed_scale",
        patients=patients,
        centers=centers,
        today=TODAY,
        no_progress=True,
        stdout=open("/dev/null", "w"),  # noqa: SIM115
        **extra,
    )


@pytest.fixture
def seeded(db):
    run(120, seed=7)


def test_counts_and_centers(seeded):
    """GIVEN 120 patients over 3 centers THEN each has one journey, a diagnosis, 1-2 guardians."""
    assert Patient.objects.count() == 120
    assert Journey.objects.count() == 120
    assert set(Patient.objects.values_list("center__name", flat=True)) == {
        "Scale center 001",
        "Scale center 002",
        "Scale center 003",
    }
    per_child = Guardianship.objects.values("patient").annotate(n=Count("pk"))
    assert {row["n"] for row in per_child} <= {1, 2}
    assert Guardianship.objects.values("patient").distinct().count() == 120
    assert Guardianship.objects.filter(is_primary=True).count() == 120
    assert Guardian.objects.filter(user__isnull=False).exists()
    assert Guardian.objects.filter(user__isnull=True).exists()
    assert Patient.objects.filter(diagnoses__isnull=True).count() == 0


def test_every_stage_represented(seeded):
    stages = set(Journey.objects.values_list("stage", flat=True))
    assert stages == set(Stage.values)


def test_constraints_and_history(seeded):
    """One open journey per child; open ones use approved therapies; history ends at the stage."""
    open_per_patient = (
        Journey.objects.filter(stage__in=OPEN_STAGES).values("patient").annotate(n=Count("pk"))
    )
    assert max(row["n"] for row in open_per_patient) == 1
    assert not Journey.objects.filter(
        Q(stage__in=OPEN_STAGES) & ~Q(therapy__market_status=MarketStatus.APPROVED),
        therapy__isnull=False,
    ).exists()
    assert not Journey.objects.filter(stage__in=OPEN_STAGES, closed_at__isnull=False).exists()
    for journey in Journey.objects.all():
        last = StageChange.objects.filter(journey=journey).order_by("moved_at", "pk").last()
        assert last.to_stage == journey.stage


def test_plans_draws_and_results(seeded):
    """Journeys at or after infusion have a plan; past draws carry flagged results."""
    infused = Journey.objects.filter(
        stage__in=[Stage.INFUSION, Stage.MONITORING, Stage.FOLLOW_UP, Stage.CLOSED]
    )
    assert infused.filter(monitoring_plan__isnull=True).count() == 0
    assert PlanVersion.objects.count() == MonitoringPlan.objects.count()
    assert not Journey.objects.filter(
        stage__in=[Stage.DIAGNOSIS_CONFIRMED, Stage.WITHDRAWN], monitoring_plan__isnull=False
    ).exists()
    assert ScheduledLab.objects.filter(done_at__isnull=False).exists()
    assert ScheduledLab.objects.filter(done_at__isnull=True, due_on__gt=TODAY).exists()
    flags = set(LabResult.objects.values_list("flag", flat=True))
    assert {"normal", "high"} <= flags
    assert LabResult.objects.filter(scheduled_lab__isnull=True).count() == 0
    assert not LabResult.objects.filter(collected_at__date__gt=TODAY).exists()


def _fingerprint():
    patients = list(Patient.objects.order_by("public_id").values_list("public_id", "date_of_birth"))
    results = list(
        LabResult.objects.order_by("public_id").values_list("public_id", "value", "flag")
    )
    return patients, results


def test_same_seed_same_data(db):
    """GIVEN the same seed and day WHEN seeded twice (rolled back between) THEN the same rows."""
    fingerprints = []
    for _ in range(2):
        with transaction.atomic():
            run(15, seed=3)
            fingerprints.append(_fingerprint())
            transaction.set_rollback(True)
    assert fingerprints[0] == fingerprints[1]
    assert fingerprints[0][1]


def test_refuses_a_second_run_without_append(db):
    run(10)
    with pytest.raises(CommandError, match="--append"):
        run(10)
    run(10, append=True)
    assert scale.scale_patients().count() == 20
    assert Guardian.objects.filter(email__endswith=scale.DOMAIN).count() >= 20


def _split(captured):
    inserts = [q for q in captured if q["sql"].lstrip().upper().startswith("INSERT")]
    return len(inserts), len(captured) - len(inserts)


def test_queries_do_not_grow_per_patient(db):
    """Bulk: 4x the patients costs the same reads and only more batches of inserts.

    SQLite caps a statement at 999 parameters, so there a batch holds ~30 results and the
    number of INSERTs follows the rows; PostgreSQL takes whole batches of 2,000.
    """
    run(5)  # centers and coordinators exist before measuring
    with CaptureQueriesContext(connection) as small:
        run(50, append=True)
    rows_before = LabResult.objects.count() + ScheduledLab.objects.count()
    with CaptureQueriesContext(connection) as large:
        run(200, append=True)
    rows = LabResult.objects.count() + ScheduledLab.objects.count() - rows_before
    (small_inserts, small_reads), (large_inserts, large_reads) = map(
        _split, (small.captured_queries, large.captured_queries)
    )
    assert large_reads == small_reads
    assert large_inserts < rows / 20
    if connection.features.max_query_params is None:
        assert len(large.captured_queries) < 1.5 * len(small.captured_queries)
