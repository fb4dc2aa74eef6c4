from django.apps import AppConfig
from django.db.models.signals import post_migrate


class JourneyConfig(AppConfig):
    name = "journey"
    verbose_name = "Journeys"

    def ready(self):
        from .roles import sync_coordinator_group

        post_migrate.connect(sync_coordinator_group, dispatch_uid="journey.sync_coordinator_group")
