from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = _("Messages")

    def ready(self):
        from tracker.services import register_worklist_section

        from . import worklist

        register_worklist_section(worklist.overdue_threads)
