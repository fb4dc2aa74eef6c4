from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Family reports")

    def ready(self):
        from tracker.services import register_worklist_section

        from . import worklist

        register_worklist_section(worklist.open_reports)
