"""Shared helpers for the benches: Django set-up, the seeded set, one JSON line, scratch DBs.

Every bench prints exactly one JSON line on stdout; progress and notes go to stderr.
"""

import argparse
import contextlib
import json
import os
import platform
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(settings_module="config.settings"):
    """Make the repository importable and start Django with the configured DATABASE_URL."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    # Reminder re-planning is published after each commit; an in-memory broker keeps the
    # bench from filling a real queue (the publish call itself is still paid for).
    from config.celery import app

    app.conf.broker_url = "memory://"
    app.conf.broker_transport_options = {}


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--patients", type=int, default=10_000, help="Size of the seeded set.")
    p.add_argument("--centers", type=int, default=20, help="Centers when seeding.")
    p.add_argument("--seed", type=int, default=0)
    return p


def log(message):
    print(message, file=sys.stderr, flush=True)


def emit(payload):
    """The bench's one line of output."""
    print(json.dumps(payload, sort_keys=False, default=str), flush=True)


def database_label():
    from django.db import connection

    return connection.vendor


def prepare_database():
    """Migrate an empty database and load both catalogues; refuse a half-migrated one."""
    from django.core.management import call_command
    from django.db import DEFAULT_DB_ALIAS, connection
    from django.db.migrations.executor import MigrationExecutor

    if "django_migrations" not in connection.introspection.table_names():
        log("empty database: migrating")
        call_command("migrate", verbosity=0, stdout=sys.stderr)
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise SystemExit(f"{DEFAULT_DB_ALIAS} database has unapplied migrations: run migrate")
    from journey.models import Therapy
    from tracker.models import LabTest

    if not Therapy.objects.exists():
        call_command("load_catalogue", verbosity=0, stdout=sys.stderr)
    if not LabTest.objects.exists():
        call_command("load_labs", verbosity=0, stdout=sys.stderr)


def ensure_seeded(patients, centers, seed=0):
    """At least `patients` scale patients; seeds the missing ones (appending)."""
    from devdata import scale

    prepare_database()
    have = scale.scale_patients().count()
    if have >= patients:
        return have
    missing = patients - have
    log(f"seeding {missing} scale patients (have {have})")
    started = time.monotonic()
    scale.seed(missing, centers, seed=seed)
    log(f"seeded in {time.monotonic() - started:.1f} s")
    return patients


def machine():
    """Where a figure came from."""
    from django.db import connection

    info = {"nproc": os.cpu_count(), "python": platform.python_version()}
    with contextlib.suppress(OSError, ValueError):
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        info["memory_gb"] = round(pages / 2**30, 1)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            info["postgresql"] = cursor.fetchone()[0]
    return info


@contextlib.contextmanager
def scratch_database_url(base_url=None):
    """A fresh, empty database for a bench run in tests; dropped afterwards.

    PostgreSQL: a new database next to the one in DATABASE_URL (needs CREATEDB, as the test
    runner does). Anything else: a temporary SQLite file.
    """
    base_url = base_url if base_url is not None else os.environ.get("DATABASE_URL", "")
    if not base_url.startswith(("postgres://", "postgresql://")):
        path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-{uuid.uuid4().hex}.sqlite3"
        try:
            yield f"sqlite:///{path}"
        finally:
            path.unlink(missing_ok=True)
        return
    import psycopg

    head, _sep, _name = base_url.rpartition("/")
    name = f"bench_scratch_{uuid.uuid4().hex[:12]}"
    admin_url = f"{head}/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{head}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
