from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Reminders")

    def ready(self):
        from tracker.services import register_worklist_section

        from . import signals, worklist

        signals.connect()
        register_worklist_section(worklist.failed_reminders)
        register_worklist_section(worklist.escalated_labs)
        register_worklist_section(worklist.relay_down)
        register_worklist_section(worklist.refused_numbers)
