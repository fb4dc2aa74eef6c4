"""Custody in the coordinator admin: restrict a guardian (with the document), lift it, record
an adult guardianship, keep the center's age policy, read the age transitions.

Every page is scoped to the user's centers (another center's row answers 404); each change goes
through journey.custody.services, which keeps the guardian's access history. Documents are
private files served only here, to staff who may see the child.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from journey import access, uploads
from journey.custody import services
from journey.models import (
    AdultGuardianship,
    AgePolicy,
    AgeTransition,
    Guardianship,
    GuardianshipRestriction,
)

from .scoping import CenterScopedAdmin

WRONG_TYPE = _("Attach a PDF or a photo (JPEG or PNG) of the document.")


def _guardianships_for(user):
    links = Guardianship.objects.filter(patient__in=access.patients_for_staff(user))
    return links.select_related("guardian", "patient").order_by("patient__last_name", "pk")


class DocumentAdmin(CenterScopedAdmin):
    """A row about one guardianship with a private document, served by `document_view`."""

    center_path = "guardianship__patient__center"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "guardianship":
            kwargs["queryset"] = _guardianships_for(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        """Rows stay: a restriction is lifted, never deleted."""
        return False

    def get_urls(self):
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}_document"
        view = self.admin_site.admin_view(self.document_view)
        return [path("<path:object_id>/document/", view, name=name), *super().get_urls()]

    def document_view(self, request, object_id):
        row = self.get_object(request, object_id)
        day = self.document_day(row).date().isoformat()
        filename = f"custody-document-{day}.{row.document_type}"
        return uploads.attachment(row.document, row.document_type, filename)

    @admin.display(description=_("document"))
    def document_link(self, obj):
        if not obj.document:
            return "–"
        opts = self.model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_document", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download"))


class DocumentForm(forms.ModelForm):
    def clean_document(self):
        document = self.cleaned_data.get("document")
        if not document:
            raise ValidationError(_("Attach the document (court order, custody agreement)."))
        try:
            uploads.checked_type(document, field="document", wrong_type=WRONG_TYPE)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["document"]) from exc
        return document


class RestrictionForm(DocumentForm):
    lift_reason = forms.CharField(
        label=_("Lift it: why"),
        required=False,
        max_length=500,
        help_text=_("Give a reason to end this restriction now; it stays in the history."),
    )

    class Meta:
        model = GuardianshipRestriction
        fields = ["guardianship", "kind", "reason", "document", "starts_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "starts_at" in self.fields:
            self.fields["starts_at"].required = False
            self.fields["starts_at"].help_text = _("Empty: from now (the guardian's next page).")


@admin.register(GuardianshipRestriction)
class GuardianshipRestrictionAdmin(DocumentAdmin):
    form = RestrictionForm
    list_display = ["guardianship", "kind", "source", "starts_at", "ends_at", "created_by"]
    list_select_related = ["guardianship__guardian", "guardianship__patient", "created_by"]
    list_filter = ["kind", "source"]
    shown = ["source", "document_link", "created_by", "created_at", "ends_at", "ended_by"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["guardianship", "kind", "reason", "document", "starts_at"]
        fields = ["guardianship", "kind", "reason", "starts_at", *self.shown, "end_reason"]
        return fields + ([] if obj.ends_at else ["lift_reason"])

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["guardianship", "kind", "reason", "starts_at", *self.shown, "end_reason"]

    def document_day(self, row):
        return row.created_at

    def save_model(self, request, obj, form, change):
        if not change:
            saved = services.restrict(
                obj.guardianship,
                kind=obj.kind,
                reason=obj.reason,
                document=form.cleaned_data["document"],
                by=request.user,
                starts_at=form.cleaned_data.get("starts_at"),
            )
            obj.pk = saved.pk
        elif form.cleaned_data.get("lift_reason"):
            try:
                services.lift_restriction(
                    obj, reason=form.cleaned_data["lift_reason"], by=request.user
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))


class AdultGuardianshipForm(DocumentForm):
    class Meta:
        model = AdultGuardianship
        fields = ["guardianship", "reason", "document"]


@admin.register(AdultGuardianship)
class AdultGuardianshipAdmin(DocumentAdmin):
    form = AdultGuardianshipForm
    list_display = ["guardianship", "recorded_by", "recorded_at"]
    list_select_related = ["guardianship__guardian", "guardianship__patient", "recorded_by"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["guardianship", "reason", "document"]
        return ["guardianship", "reason", "document_link", "recorded_by", "recorded_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def document_day(self, row):
        return row.recorded_at

    def save_model(self, request, obj, form, change):
        if not change:
            saved = services.record_adult_guardianship(
                obj.guardianship,
                reason=obj.reason,
                document=form.cleaned_data["document"],
                by=request.user,
            )
            obj.pk = saved.pk


@admin.register(AgePolicy)
class AgePolicyAdmin(CenterScopedAdmin):
    list_display = ["center", "age_years", "change"]
    list_select_related = ["center"]
    fields = ["center", "age_years", "change"]


@admin.register(AgeTransition)
class AgeTransitionAdmin(CenterScopedAdmin):
    """What the sweep told and did, child by child: read only."""

    center_path = "patient__center"
    list_display = ["patient", "change", "age_years", "birthday", "step", "at"]
    list_select_related = ["patient"]
    list_filter = ["step", "change"]
    date_hierarchy = "birthday"
    readonly_fields = ["patient", "change", "age_years", "birthday", "step", "at", "note"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
