import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from devdata.demo import DEMO_DEVICE


def current_code(device):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


class Command(BaseCommand):
    help = "Print the current second-factor code of the demo staff logins (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("email", nargs="?", help="Only this login.")

    def handle(self, *args, email=None, **options):
        if not settings.DEBUG:
            raise CommandError("demo_code is for the local demo only (DEBUG on).")
        devices = TOTPDevice.objects.filter(name=DEMO_DEVICE, confirmed=True).select_related("user")
        if email:
            devices = devices.filter(user__email=email.lower())
        if not devices:
            raise CommandError("No demo authenticator found: run `manage.py seed_demo` first.")
        for device in devices.order_by("user__email"):
            self.stdout.write(f"  {device.user.email:<28} {current_code(device)}")
        self.stdout.write("  (codes change every 30 seconds)")
