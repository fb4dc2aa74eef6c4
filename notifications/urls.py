"""The family portal's reminder pages, included by config/urls.py under /portal/."""

from django.urls import path

from . import views
from .sms import views as sms

app_name = "portal_notifications"
PHONE = "children/<uuid:public_id>/reminders/phone/"

urlpatterns = [
    path("children/<uuid:public_id>/reminders/", views.reminder_settings, name="settings"),
    path("children/<uuid:public_id>/reminders/snooze/", views.snooze, name="snooze"),
    path("children/<uuid:public_id>/reminders/snooze/end/", views.unsnooze, name="unsnooze"),
    # The guardian's number for text messages (notifications.sms).
    path(f"{PHONE}", sms.set_number, name="phone"),
    path(f"{PHONE}confirm/", sms.confirm_number, name="phone_confirm"),
    path(f"{PHONE}resend/", sms.resend_code, name="phone_resend"),
    path(f"{PHONE}remove/", sms.remove_number, name="phone_remove"),
    # The List-Unsubscribe target of every reminder email (notifications.emails).
    path("preferences/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
