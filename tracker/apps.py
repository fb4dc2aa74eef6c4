from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = _("Monitoring")

    def ready(self):
        from journey.signals import schedule_changed

        from .services import on_schedule_changed

        schedule_changed.connect(on_schedule_changed, dispatch_uid="tracker.generate_plan")
