"""The family portal's tracker pages, included by config/urls.py under /portal/."""

from django.urls import path

from . import views

app_name = "portal_tracker"

urlpatterns = [
    path("children/<uuid:public_id>/plan/", views.plan, name="plan"),
    path("children/<uuid:public_id>/labs/", views.labs, name="labs"),
    path("children/<uuid:public_id>/calendar/", views.calendar_link, name="calendar"),
    path("children/<uuid:public_id>/calendar/new/", views.calendar_new, name="calendar_new"),
    path(
        "children/<uuid:public_id>/calendar/revoke/",
        views.calendar_revoke,
        name="calendar_revoke",
    ),
    path("calendar/<str:token>.ics", views.feed, name="feed"),
    path("children/<uuid:public_id>/record/", views.record, name="record"),
    path("children/<uuid:public_id>/record/fhir.json", views.record_fhir, name="record_fhir"),
]
