"""The family portal's reminder pages, included by config/urls.py under /portal/."""

from django.urls import path

from . import views

app_name = "portal_notifications"

urlpatterns = [
    path("children/<uuid:public_id>/reminders/", views.reminder_settings, name="settings"),
    path("children/<uuid:public_id>/reminders/snooze/", views.snooze, name="snooze"),
    path("children/<uuid:public_id>/reminders/snooze/end/", views.unsnooze, name="unsnooze"),
    # The List-Unsubscribe target of every reminder email (notifications.emails).
    path("preferences/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
