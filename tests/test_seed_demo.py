"""seed_demo: the demo the README promises, and idempotent (run twice: no duplicates)."""

import pytest
from django.apps import apps
from django.core.management import call_command
from django.utils import timezone

from journey.models import Journey, Stage, User
from tracker.models import LabResult, ScheduledLab

pytestmark = pytest.mark.django_db
DEMO_LOGINS = {
    "admin@example.org",
    "coordinator@example.org",
    "coordinator.b@example.org",
    "parent@example.org",
    "parent2@example.org",
}


def counts():
    return {
        m._meta.label: m.objects.count()
        for m in apps.get_models()
        if m._meta.app_label in {"journey", "tracker"}
    }


def test_seed_demo_twice_creates_nothing_new(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-password-123")
    monkeypatch.setattr("devdata.management.commands.seed_demo.PASSWORD_FILE", tmp_path / "pw.txt")
    call_command("seed_demo", force=True)
    first = counts()
    call_command("seed_demo", force=True)
    assert counts() == first
    out = capsys.readouterr().out
    assert "demo-password-123" in out and "coordinator@example.org" in out
    assert set(User.objects.values_list("email", flat=True)) >= DEMO_LOGINS
    assert User.objects.get(email="parent@example.org").check_password("demo-password-123")


def test_demo_has_something_due_tomorrow_overdue_and_a_recent_result(monkeypatch, tmp_path):
    monkeypatch.setattr("devdata.management.commands.seed_demo.PASSWORD_FILE", tmp_path / "pw.txt")
    call_command("seed_demo", force=True)
    today = timezone.localdate()
    labs = ScheduledLab.objects.with_status(today)
    assert labs.filter(due_on=today + timezone.timedelta(days=1)).exists()
    assert labs.filter(status="overdue").exists()
    assert LabResult.objects.filter(collected_at__date__gte=today - timezone.timedelta(days=14))
    stages = set(Journey.objects.values_list("stage", flat=True))
    assert {Stage.MONITORING, Stage.PRE_TREATMENT, Stage.INSURANCE} <= stages


def test_demo_staff_get_an_authenticator_whose_code_demo_code_prints(monkeypatch, tmp_path):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from devdata.management.commands.demo_code import current_code

    monkeypatch.setattr("devdata.management.commands.seed_demo.PASSWORD_FILE", tmp_path / "pw.txt")
    call_command("seed_demo", force=True)
    device = TOTPDevice.objects.get(user__email="coordinator@example.org")
    assert device.confirmed
    assert device.verify_token(current_code(device))
