"""The audit trail in the admin: read-only for everyone, superusers included.

Superusers browse every record; a coordinator sees a patient's timeline from the patient's
page (their own centers' patients only: another center's patient is a 404).
"""

from auditlog import get_logentry_model
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from journey import access

from .models import AuditRecord
from .timeline import PER_SOURCE, timeline

# auditlog's own admin registered the swapped model; this one replaces it.
if admin.site.is_registered(get_logentry_model()):
    admin.site.unregister(get_logentry_model())


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    list_display = ["timestamp", "event", "actor_email", "content_type", "object_repr", "reason"]
    list_filter = ["event", "action", "content_type"]
    list_select_related = ["content_type"]
    search_fields = ["object_repr", "actor_email", "reason"]
    date_hierarchy = "timestamp"
    readonly_fields = [
        "timestamp",
        "event",
        "action",
        "actor",
        "actor_email",
        "content_type",
        "object_pk",
        "object_repr",
        "patient_id",
        "guardian_id",
        "changes",
        "reason",
        "remote_addr",
        "path",
        "cid",
        "additional_data",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def get_urls(self):
        timeline_view = self.admin_site.admin_view(self.patient_timeline_view)
        return [
            path(
                "patient/<int:patient_id>/timeline/",
                timeline_view,
                name="audit_patient_timeline",
            ),
            *super().get_urls(),
        ]

    def patient_timeline_view(self, request, patient_id):
        """Newest first; 404 for a patient outside the user's centers."""
        patient = get_object_or_404(access.patients_for_staff(request.user), pk=patient_id)
        if not request.user.has_perm("journey.view_patient"):
            raise PermissionDenied
        entries = timeline(patient)
        context = {
            **self.admin_site.each_context(request),
            "opts": patient._meta,
            "original": patient,
            "patient": patient,
            "title": _("Audit timeline: %(patient)s") % {"patient": patient},
            "entries": entries,
            "per_source": PER_SOURCE,
        }
        return TemplateResponse(request, "admin/audit/patient_timeline.html", context)
