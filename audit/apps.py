from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import batching, registry, signals  # noqa: F401  (registers models and receivers)

        registry.register_models()
        batching.connect()
