import os
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devdata.demo import seed_demo
from devdata.demo_results import seed_results
from journey.models import Membership, User

PASSWORD_FILE = settings.VAR_DIR / "demo-password.txt"


def demo_password():
    """DEMO_PASSWORD, else one generated once and kept in var/ so re-runs print the same."""
    from_env = bool(os.environ.get("DEMO_PASSWORD"))
    if from_env:
        password = os.environ["DEMO_PASSWORD"]
    elif PASSWORD_FILE.exists():
        return PASSWORD_FILE.read_text().strip(), False
    else:
        password = secrets.token_urlsafe(12)
    PASSWORD_FILE.parent.mkdir(parents=True, exist_ok=True)
    PASSWORD_FILE.write_text(password + "\n")
    return password, from_env


def center_coordinator(center_id):
    membership = Membership.objects.filter(center_id=center_id).select_related("user").first()
    return membership.user if membership else None


class Command(BaseCommand):
    help = "Load demo centers, coordinators, families, plans and results (idempotent; local use)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates known logins; run it only with DEBUG on.")
        password, from_env = demo_password()
        logins = seed_demo(password)
        seed_results(center_coordinator)
        if from_env:  # DEMO_PASSWORD is the truth: re-apply it to every demo login
            for user in User.objects.filter(email__in=[email for email, _ in logins]):
                user.set_password(password)
                user.save(update_fields=["password"])
        self.stdout.write(self.style.SUCCESS("Demo data ready at http://127.0.0.1:8000/admin/"))
        for email, role in logins:
            self.stdout.write(f"  {email:<28} {role}")
        self.stdout.write(f"  password: {password}")
        self.stdout.write(
            "  Staff logins then ask for a 6-digit code: in another terminal run\n"
            "    .venv/bin/python manage.py demo_code\n"
            "  for the demo authenticators' current codes (local demo only)."
        )
