"""The family portal's report pages, included by config/urls.py under /portal/."""

from django.urls import path

from . import views, views_outside

app_name = "portal_reports"

urlpatterns = [
    path("children/<uuid:public_id>/something-is-wrong/", views.new_report, name="new"),
    path(
        "children/<uuid:public_id>/something-is-wrong/<uuid:report_id>/",
        views.report_sent,
        name="sent",
    ),
    path(
        "children/<uuid:public_id>/outside-results/new/",
        views_outside.new_outside_result,
        name="outside_new",
    ),
    path(
        "children/<uuid:public_id>/outside-results/<uuid:outside_id>/file/",
        views_outside.outside_file,
        name="outside_file",
    ),
]
