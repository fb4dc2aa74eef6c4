import os
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devdata.demo import FAMILY, STAFF, seed_demo
from devdata.demo_results import seed_results
from journey.models import Membership

PASSWORD_FILE = settings.VAR_DIR / "demo-password.txt"


def demo_password():
    """DEMO_PASSWORD, else one generated once and kept in var/ so re-runs print the same.

    Either way seed_demo resets every demo login to it: the printed password always works."""
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
        password, _from_env = demo_password()
        logins = seed_demo(password)  # every demo login reset to `password`
        seed_results(center_coordinator)
        self._print(logins, password)

    def _print(self, logins, password):
        site = settings.SITE_URL
        places = {STAFF: f"{site}/admin/", FAMILY: f"{site}/portal/"}
        write = self.stdout.write
        write(self.style.SUCCESS("Demo data ready."))
        write(f"  Families' portal: {places[FAMILY]}")
        write(f"  Care team admin:  {places[STAFF]}")
        write(f"  Logins (password: {password}):")
        for email, where, role in logins:
            write(f"    {email:<27} {places[where]:<32} {role}")
        write(
            "  Staff logins then ask for a 6-digit code: in another terminal run\n"
            "    .venv/bin/python manage.py demo_code\n"
            "  for the demo authenticators' current codes (local demo only)."
        )
