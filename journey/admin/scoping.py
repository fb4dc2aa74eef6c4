"""Center scoping for every admin page: lists, change pages, choices, autocomplete and inlines.

What a user may see is decided by journey.access; this module only applies it to the admin.
An object outside the user's centers answers 404, never the admin's "does not exist" redirect.
"""

from django.contrib import admin
from django.db import models
from django.http import Http404

from journey import access
from journey.inputs import BoundedJSONField
from journey.models import Center, Guardian, Journey, Patient
from journey.widgets import make_choice_field_safe

# Foreign keys to these models only offer what the user may see.
SCOPED_CHOICES = {
    Center: access.centers_for,
    Patient: access.patients_for_staff,
    Guardian: access.guardians_for_staff,
    Journey: access.journeys_for_staff,
}


def limit_choices(db_field, request, kwargs):
    """Narrow a foreign key's choices to the user's centers, unless a queryset is given."""
    scoped = SCOPED_CHOICES.get(db_field.related_model)
    if scoped and "queryset" not in kwargs:
        kwargs["queryset"] = scoped(request.user)
    return kwargs


def only_center(user):
    """The user's center when they work at exactly one (the default for new objects)."""
    ids = access.center_ids_for(user)
    return next(iter(ids)) if ids and len(ids) == 1 else None


# A JSON box answers bad input by the field, never a 500 (journey.inputs.BoundedJSONField).
SAFE_JSON = {models.JSONField: {"form_class": BoundedJSONField}}


class SuperuserEditsMixin:
    """Anyone with access may look; only an administrator (superuser) adds, changes, deletes."""

    formfield_overrides = SAFE_JSON

    def has_add_permission(self, request, *args):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class SuperuserOnlyMixin(SuperuserEditsMixin):
    """Only an administrator sees these pages at all."""

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser


class SafeChoicesAdminMixin:
    """Choice and autocomplete fields answer a malformed value with a form error, never a 500."""

    formfield_overrides = SAFE_JSON

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return make_choice_field_safe(super().formfield_for_foreignkey(db_field, request, **kwargs))

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        return make_choice_field_safe(formfield)


class ScopedChoicesMixin(SafeChoicesAdminMixin):
    """Foreign key and many-to-many fields list only the user's centers' objects."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs = limit_choices(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs = limit_choices(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class CenterScopedAdmin(ScopedChoicesMixin, admin.ModelAdmin):
    """A ModelAdmin whose rows belong to a center reached by `center_path`."""

    center_path = "center"

    def get_queryset(self, request):
        return self.scope(request, super().get_queryset(request))

    def scope(self, request, queryset):
        return access.scope_to_centers(queryset, request.user, self.center_path)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        center = only_center(request.user)
        if center and self.center_path == "center":
            initial.setdefault("center", center)
        return initial


class ScopedTabularInline(ScopedChoicesMixin, admin.TabularInline):
    pass


class ScopedStackedInline(ScopedChoicesMixin, admin.StackedInline):
    pass


class ReadOnlyInline(admin.TabularInline):
    """History shown on a page: no add, change or delete."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
