from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Reminders"

    def ready(self):
        from tracker.services import register_worklist_section

        from . import signals, worklist

        signals.connect()
        register_worklist_section(worklist.failed_reminders)
        register_worklist_section(worklist.escalated_labs)
