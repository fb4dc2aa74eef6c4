from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = _("Messages")

    def ready(self):
        from journey.staffing import register_held_items
        from tracker.services import register_worklist_section

        from . import staffing, worklist

        register_worklist_section(worklist.overdue_threads)
        register_held_items(staffing.HELD_THREADS)
