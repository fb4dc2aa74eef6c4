from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class JourneyConfig(AppConfig):
    name = "journey"
    verbose_name = _("Journeys")

    def ready(self):
        from .roles import sync_coordinator_group

        post_migrate.connect(sync_coordinator_group, dispatch_uid="journey.sync_coordinator_group")
