"""Django's admin app, with Waypoint's AdminSite (second factor required) as the default site."""

from django.contrib.admin.apps import AdminConfig


class WaypointAdminConfig(AdminConfig):
    default_site = "journey.security.admin_site.WaypointAdminSite"
