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


# ---- the first run (issue 13, item 12) ----


def _seed(monkeypatch, tmp_path, password=None):
    if password:
        monkeypatch.setenv("DEMO_PASSWORD", password)
    else:
        monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    monkeypatch.setattr("devdata.management.commands.seed_demo.PASSWORD_FILE", tmp_path / "pw.txt")
    call_command("seed_demo", force=True)


def test_seed_demo_finds_its_rows_by_stable_keys_not_names(monkeypatch, tmp_path):
    """GIVEN a coordinator renamed the demo center and corrected a child's name
    WHEN seed_demo runs again THEN it finds them (no second center, child or journey)."""
    from journey.models import Center, Patient

    _seed(monkeypatch, tmp_path)
    first = counts()
    center = Center.objects.order_by("pk").first()
    center.name = "Riverside Children's (renamed)"
    center.save()
    Patient.objects.filter(first_name="Maya").update(first_name="Maia", last_name="Rivera-Lopez")
    _seed(monkeypatch, tmp_path)
    assert counts() == first
    assert Center.objects.filter(name__startswith="Riverside").count() == 1


def test_seed_demo_resets_every_demo_login_to_the_printed_password(monkeypatch, tmp_path, capsys):
    """GIVEN someone changed a demo login's password WHEN seed_demo runs again (password kept
    in var/) THEN every demo login answers to the password it prints."""
    _seed(monkeypatch, tmp_path)
    password = (tmp_path / "pw.txt").read_text().strip()
    user = User.objects.get(email="coordinator@example.org")
    user.set_password("changed-by-someone")
    user.save()
    capsys.readouterr()
    _seed(monkeypatch, tmp_path)
    out = capsys.readouterr().out
    assert f"password: {password}" in out
    for email in DEMO_LOGINS:
        assert User.objects.get(email=email).check_password(password), email


def test_the_printout_names_the_portal_and_admin_and_what_each_login_is_for(
    monkeypatch, tmp_path, capsys, settings
):
    settings.SITE_URL = "http://127.0.0.1:8001"
    _seed(monkeypatch, tmp_path)
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8001/portal/" in out and "http://127.0.0.1:8001/admin/" in out
    assert "8000" not in out
    lines = {line.split()[0]: line for line in out.splitlines() if "@example.org" in line}
    assert set(lines) >= DEMO_LOGINS
    assert "/admin/" in lines["coordinator@example.org"]
    assert "/portal/" in lines["parent@example.org"] and "Maya" in lines["parent@example.org"]


def test_the_demos_day_one_is_a_few_useful_emails(monkeypatch, tmp_path):
    """GIVEN the demo just seeded WHEN the planner runs THEN its stage history (entered as past)
    gives no email, and no family gets more than one email a day for one draw."""
    from datetime import timedelta

    from notifications import services
    from notifications.models import Kind, Reminder, Status

    _seed(monkeypatch, tmp_path)
    now = timezone.now()
    services.reconcile(now=now)
    day_one = Reminder.objects.filter(status=Status.PENDING, send_at__lt=now + timedelta(days=1))
    assert not day_one.filter(kind=Kind.STAGE_CHANGED).exists()
    per_guardian = {}
    for row in day_one.filter(guardian__isnull=False):
        per_guardian[row.guardian_id] = per_guardian.get(row.guardian_id, 0) + 1
    assert max(per_guardian.values(), default=0) <= 2
    assert day_one.count() <= 8


def test_the_demo_has_a_young_person_turning_18_whose_family_and_coordinator_are_told(
    monkeypatch, tmp_path
):
    """Issue 17 item 2: Nia turns 18 in 45 days; the 60-day notice is recorded once and the
    family and the coordinator each have its email in the outbox."""
    from journey.models import AgeStep, AgeTransition, Patient
    from notifications.models import Kind, Reminder

    _seed(monkeypatch, tmp_path)
    _seed(monkeypatch, tmp_path)
    nia = Patient.objects.get(first_name="Nia")
    steps = AgeTransition.objects.filter(patient=nia)
    assert list(steps.values_list("step", flat=True)) == [AgeStep.NOTICE_60]
    assert (steps.get().birthday - timezone.localdate()).days == 45
    kinds = sorted(Reminder.objects.filter(patient=nia).values_list("kind", flat=True))
    assert kinds == [Kind.AGE_CHANGE_COORDINATOR, Kind.AGE_CHANGE_FAMILY]


def test_make_demo_port_picks_the_web_servers_port_and_the_site_url():
    """`make demo PORT=8001`: seed_demo and the processes get SITE_URL on 8001, honcho gives
    the web process that port, and the Procfile's web server listens on it."""
    import shutil
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    web = next(
        line for line in (root / "Procfile.dev").read_text().splitlines() if line[:4] == "web:"
    )
    assert "runserver 127.0.0.1:${PORT" in web
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dry = subprocess.run(
        ["make", "-n", "demo", "PORT=8001"], cwd=root, capture_output=True, text=True, timeout=60
    ).stdout
    assert "SITE_URL=http://127.0.0.1:8001" in dry and "honcho" in dry and "--port 8001" in dry
    assert ":8000" not in dry
