"""Centers, memberships and logins: managed by administrators (superusers) only."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from journey.forms import UserAddForm, UserEditForm
from journey.models import Center, Membership, User

from .scoping import (
    CenterScopedAdmin,
    SafeChoicesAdminMixin,
    SuperuserEditsMixin,
    SuperuserOnlyMixin,
)


@admin.register(Center)
class CenterAdmin(SuperuserEditsMixin, CenterScopedAdmin):
    """Coordinators may look at their own center; only administrators edit centers."""

    center_path = "pk"
    list_display = ["name", "time_zone", "main_phone", "after_hours_phone", "result_release"]
    search_fields = ["name"]


class MembershipInline(SuperuserOnlyMixin, admin.TabularInline):
    model = Membership
    fields = ["center", "role", "created_at"]
    readonly_fields = ["created_at"]
    extra = 0


@admin.register(Membership)
class MembershipAdmin(SuperuserOnlyMixin, SafeChoicesAdminMixin, admin.ModelAdmin):
    list_display = ["user", "center", "role", "created_at"]
    list_select_related = ["user", "center"]
    list_filter = ["center", "role"]
    search_fields = ["user__email", "user__full_name", "center__name"]
    autocomplete_fields = ["user"]


@admin.register(User)
class UserAdmin(SuperuserOnlyMixin, SafeChoicesAdminMixin, DjangoUserAdmin):
    """Django's user admin for a login by email, with the user's center memberships."""

    form = UserEditForm
    add_form = UserAddForm
    list_display = ["email", "full_name", "is_staff", "is_superuser", "is_active"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "full_name"]
    ordering = ["email"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Personal info"), {"fields": ["full_name", "time_zone", "language"]}),
        (
            _("Permissions"),
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "full_name", "usable_password", "password1", "password2"],
            },
        ),
    ]
    inlines = [MembershipInline]

    def get_inlines(self, request, obj):
        """Centers are added on the second page, as with Django's own user admin."""
        return self.inlines if obj else []
