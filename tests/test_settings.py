"""Settings: production is safe by construction, and CI runs on the real services."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import IN_CI, require_service

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k3y-for-the-deploy-check-only-9f8e7d6c5b4a3210-zyxwvu",
    "DJANGO_ALLOWED_HOSTS": "waypoint.example.org",
    "DATABASE_URL": "postgres://waypoint@db.example.org:5432/waypoint",
    "SITE_URL": "https://waypoint.example.org",
    "REDIS_URL": "redis://redis.example.org:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.org:587",
}


def manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "SITE_URL"]
)
def test_production_refuses_to_start_without_required_values(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert missing in result.stderr


@pytest.mark.services
def test_ci_runs_on_postgresql(db):
    if IN_CI:
        assert connection.vendor == "postgresql", "CI must run the suite on PostgreSQL"
    else:
        require_service("PostgreSQL", connection.vendor == "postgresql")


@pytest.mark.services
def test_redis_is_reachable_when_configured():
    import redis

    url = os.environ.get("REDIS_URL", "")
    try:
        reachable = bool(url) and redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError:
        reachable = False
    require_service("Redis", reachable)
