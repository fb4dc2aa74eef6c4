"""The family portal's report pages, included by config/urls.py under /portal/."""

from django.urls import path

from . import views

app_name = "portal_reports"

urlpatterns = [
    path("children/<uuid:public_id>/something-is-wrong/", views.new_report, name="new"),
    path(
        "children/<uuid:public_id>/something-is-wrong/<uuid:report_id>/",
        views.report_sent,
        name="sent",
    ),
]
