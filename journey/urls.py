"""Family portal URLs (namespace "portal") and account URLs (no namespace, as Django's own)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views, views_followup

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("children/<uuid:public_id>/", views.child, name="child"),
    path("children/<uuid:public_id>/people/", views.people, name="people"),
    path("children/<uuid:public_id>/card/", views.card, name="card"),
    # The contact check's emailed link (journey.followup): the signed token is the key.
    path("contact/<str:token>/", views_followup.contact_check, name="contact_check"),
]

# Included at /accounts/ without a namespace: Django's auth views reverse these names.
account_urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="registration/change_password_done.html"
        ),
        name="password_change_done",
    ),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="registration/reset_password_sent.html"
        ),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="registration/reset_password_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("invitation/<str:token>/", views.accept_invitation, name="accept_invitation"),
]
