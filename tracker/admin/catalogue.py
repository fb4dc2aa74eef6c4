"""The lab catalogue in the admin: coordinators read it, administrators correct it."""

from django.contrib import admin

from ..models import LabTest, LabUnit, ReferenceRange


class AdminOnlyEditsMixin:
    """Catalogue data: coordinators read it, administrators correct it."""

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class LabUnitInline(AdminOnlyEditsMixin, admin.TabularInline):
    model = LabUnit
    extra = 0


class ReferenceRangeInline(AdminOnlyEditsMixin, admin.TabularInline):
    model = ReferenceRange
    extra = 0


@admin.register(LabTest)
class LabTestAdmin(AdminOnlyEditsMixin, admin.ModelAdmin):
    list_display = ["code", "name", "family_name", "loinc", "unit", "as_of"]
    inlines = [LabUnitInline, ReferenceRangeInline]
