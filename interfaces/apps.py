from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InterfacesConfig(AppConfig):
    name = "interfaces"
    verbose_name = _("Lab interfaces")

    def ready(self):
        from tracker.services import register_worklist_section

        from . import worklist

        register_worklist_section(worklist.unmatched_results)
