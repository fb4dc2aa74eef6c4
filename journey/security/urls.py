"""/accounts/two-factor/ (namespace "two_factor")."""

from django.urls import path

from . import two_factor

app_name = "two_factor"

urlpatterns = [
    path("", two_factor.overview, name="overview"),
    path("setup/", two_factor.setup, name="setup"),
    path("verify/", two_factor.verify, name="verify"),
    path("backup-codes/", two_factor.backup_codes, name="backup_codes"),
    path("disable/", two_factor.disable, name="disable"),
]
