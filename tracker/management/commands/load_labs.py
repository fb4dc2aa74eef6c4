from django.core.management.base import BaseCommand

from tracker.labs import load_labs


class Command(BaseCommand):
    help = (
        "Load the lab catalogue (tests, units, reference ranges) from tracker/labs/catalogue.json."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--keep-edits",
            action="store_true",
            help="Only add missing rows; keep values already edited in the admin.",
        )

    def handle(self, *args, keep_edits=False, **options):
        counts = load_labs(update=not keep_edits)
        summary = ", ".join(f"{v} {k}" for k, v in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Lab catalogue loaded: {summary}."))
