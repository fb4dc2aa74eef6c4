from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Family reports")

    def ready(self):
        from tracker.portal.extras import register_labs_block
        from tracker.services import register_worklist_section

        from . import labs_block, worklist

        register_worklist_section(worklist.open_reports)
        register_worklist_section(worklist.outside_results)
        register_labs_block(labs_block.outside_results_block)
