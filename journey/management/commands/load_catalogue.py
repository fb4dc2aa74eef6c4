from django.core.management.base import BaseCommand

from journey.catalogue import load_catalogue


class Command(BaseCommand):
    help = "Load the therapy catalogue (label facts) from journey/catalogue/*.json."

    def add_arguments(self, parser):
        parser.add_argument(
            "--update",
            action="store_true",
            help="Overwrite rows already in the database with the files' values.",
        )

    def handle(self, *args, update=False, **options):
        counts = load_catalogue(update=update)
        summary = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Catalogue loaded: {summary}."))
