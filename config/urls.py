from importlib.util import find_spec

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from journey.urls import account_urlpatterns
from notifications.monitoring import health_view, metrics_view

admin.site.site_header = "Waypoint care team"
admin.site.site_title = "Waypoint"
admin.site.index_title = "Your center's families"


def _tracker_pages():
    """The portal's tracker pages (tracker/urls.py, namespace "portal_tracker") once they land."""
    if find_spec("tracker.urls") is None:
        return []
    return [path("portal/", include(("tracker.urls", "portal_tracker")))]


urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/two-factor/", include("journey.security.urls")),
    path("accounts/", include(account_urlpatterns)),
    path("portal/", include("journey.urls")),
    *_tracker_pages(),
    path("portal/", include("reports.urls")),  # app_name "portal_reports"
    path("portal/", include("conversations.urls")),  # app_name "portal_messages"
    path("portal/", include("notifications.urls")),  # app_name "portal_notifications"
    path("fhir/", include("interfaces.urls")),  # lab systems' FHIR results (API token)
    path("sms/", include("notifications.sms.urls")),  # the text provider's webhook (signed)
    path("health/", health_view, name="health"),  # no login, no patient data
    path("metrics", metrics_view, name="metrics"),  # token or network (notifications.monitoring)
    path("", RedirectView.as_view(pattern_name="portal:home", permanent=False)),
]
