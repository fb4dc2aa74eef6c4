"""Run the HL7 v2 MLLP listener (docs/interfaces.md)."""

import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand

from interfaces.listener import serve


class Command(BaseCommand):
    help = "Listen for HL7 v2 results over MLLP; store each message, then answer its ACK."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.WAYPOINT_MLLP_HOST)
        parser.add_argument("--port", type=int, default=settings.WAYPOINT_MLLP_PORT)

    def handle(self, *args, host, port, **options):
        def ready(bound):
            self.stdout.write(f"MLLP listener on {host}:{bound}", ending="\n")
            self.stdout.flush()

        asyncio.run(serve(host, port, ready=ready))
