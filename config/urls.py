from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "Waypoint care team"
admin.site.site_title = "Waypoint"
admin.site.index_title = "Your center's families"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
