from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Reminders")

    def ready(self):
        from django.utils.translation import gettext_noop

        from journey.portal.frame import add_child_link
        from tracker.services import register_worklist_section

        from . import signals, worklist

        signals.connect()
        # The reminder settings in the child's navigation, after the tracker's pages.
        reminders = gettext_noop("Reminders")  # optional: a URLconf may not have the page
        add_child_link("portal_notifications:settings", "reminders", reminders, optional=True)
        register_worklist_section(worklist.failed_reminders)
        register_worklist_section(worklist.escalated_labs)
        register_worklist_section(worklist.relay_down)
        register_worklist_section(worklist.refused_numbers)
