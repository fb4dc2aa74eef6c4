"""The family portal's message pages, included by config/urls.py under /portal/."""

from django.urls import path

from . import views

app_name = "portal_messages"

urlpatterns = [
    path("children/<uuid:public_id>/messages/", views.thread_list, name="list"),
    path("children/<uuid:public_id>/messages/new/", views.new_thread, name="new"),
    path("children/<uuid:public_id>/messages/<uuid:thread_id>/", views.thread, name="thread"),
    path(
        "children/<uuid:public_id>/messages/<uuid:thread_id>/files/<uuid:message_id>/",
        views.attachment,
        name="file",
    ),
]
