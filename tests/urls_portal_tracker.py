"""Test URLconf: the portal's account and journey pages plus the tracker pages under /portal/.

Mirrors config/urls.py so the tracker tests do not depend on when it includes tracker.urls.
"""

from django.urls import include, path

from journey.urls import account_urlpatterns

urlpatterns = [
    path("accounts/", include(account_urlpatterns)),
    path("portal/", include("journey.urls")),
    path("portal/", include("tracker.urls")),
    path("portal/", include("reports.urls")),  # the labs page's "results from other labs"
]
