from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Reminders"

    def ready(self):
        from . import signals

        signals.connect()
