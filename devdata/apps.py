from django.apps import AppConfig


class DevdataConfig(AppConfig):
    """Demo and scale data for local use and benches: seed_demo, demo_code, seed_scale.

    It sits above every app and may import them all; no app imports it.
    """

    name = "devdata"
    verbose_name = "Development data"
