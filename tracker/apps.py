from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = _("Monitoring")

    def ready(self):
        from journey.portal.pages import portal_journeys_loaded
        from journey.signals import schedule_changed

        from .portal.summary import attach_next_visits
        from .services import on_schedule_changed

        schedule_changed.connect(on_schedule_changed, dispatch_uid="tracker.generate_plan")
        portal_journeys_loaded.connect(attach_next_visits, dispatch_uid="tracker.next_visit")
