"""Admin: lab systems and their local codes, the inbox, and the unmatched queue."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from journey import access
from journey.admin.scoping import CenterScopedAdmin, SuperuserEditsMixin

from . import resolve
from .forms import ResolveForm
from .models import InboundMessage, InboundResult, LabSender, LocalCode, ResultState
from .tokens import issue_token


@admin.register(LabSender)
class LabSenderAdmin(SuperuserEditsMixin, CenterScopedAdmin):
    list_display = [
        "name",
        "sending_facility",
        "assigning_authority",
        "center",
        "active",
        "api_token_issued_at",
    ]
    search_fields = ["name", "sending_facility"]
    readonly_fields = ["api_token_issued_at"]
    actions = ["issue_api_token"]

    @admin.action(description=_("Issue a new FHIR API token (shown once; the old one stops)"))
    def issue_api_token(self, request, queryset):
        """The queryset is already the user's centers' lab systems (get_queryset)."""
        labs = list(queryset[:2])
        if len(labs) != 1:
            messages.error(request, _("Choose exactly one lab system."))
            return None
        token = issue_token(labs[0])
        context = {**self.admin_site.each_context(request), "lab": labs[0], "token": token}
        context["title"] = _("New FHIR API token")
        return TemplateResponse(request, "admin/interfaces/token_issued.html", context)


@admin.register(LocalCode)
class LocalCodeAdmin(CenterScopedAdmin):
    center_path = "sender__center"
    list_display = ["code", "test", "sender"]
    list_filter = ["sender"]
    search_fields = ["code"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "sender":
            senders = LabSender.objects.filter(active=True)
            kwargs["queryset"] = access.scope_to_centers(senders, request.user, "center")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyAdmin(CenterScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    center_path = "lab__center"
    list_display = ["received_at", "sender", "control_id", "channel", "ack_code", "status"]
    list_filter = ["status", "ack_code", "channel"]
    search_fields = ["control_id", "sender"]
    exclude = ["raw"]
    readonly_fields = ["text", "size", "reason", "processed_at"]

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("message as received"))
    def text(self, obj):
        return bytes(obj.raw).decode("utf-8", "replace").replace("\r", "\n")


@admin.register(InboundResult)
class InboundResultAdmin(ReadOnlyAdmin):
    form = ResolveForm
    list_display = ["pk", "patient_name", "code_text", "value", "unit", "state", "problem"]
    list_filter = ["state", "problem"]
    list_select_related = ["message"]
    readonly_fields = [
        "state",
        "problem",
        "detail",
        "patient_name",
        "birth_date",
        "patient_ids",
        "code",
        "code_text",
        "value",
        "unit",
        "reference_range",
        "result_status",
        "collected_at",
        "order_id",
        "journey",
        "lab_result",
        "resolution",
        "suggestions",
    ]

    def get_fields(self, request, obj=None):
        editable = obj is not None and obj.state == ResultState.UNMATCHED
        return [*self.readonly_fields, *(["action", "child", "reason"] if editable else [])]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["fields"] = [] if obj is None or obj.state != ResultState.UNMATCHED else None
        form = super().get_form(request, obj, change, **kwargs)
        journeys = access.journeys_for_staff(request.user)

        class Scoped(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, journeys=journeys, **kw)

        return Scoped

    @admin.display(description=_("children with this name or birth date"))
    def suggestions(self, obj):
        """Shown, never chosen for the coordinator: the item's center only (get_object has
        already checked that the user works there)."""
        if obj.state != ResultState.UNMATCHED:
            return "-"
        rows = list(resolve.candidates(obj, name=obj.patient_name)) if obj.patient_name else []
        if obj.birth_date:
            rows += [j for j in resolve.candidates(obj, born=obj.birth_date) if j not in rows]
        cells = [(j.patient, j.patient.date_of_birth.isoformat()) for j in rows]
        return format_html_join(", ", "{} ({})", cells) or "-"

    def save_model(self, request, obj, form, change):
        action = form.cleaned_data.get("action")
        try:
            if action == "match":
                resolve.match(obj, form.cleaned_data["child"], by=request.user)
            elif action == "retry":
                resolve.retry(obj, by=request.user)
            elif action == "reject":
                resolve.reject(obj, form.cleaned_data["reason"], by=request.user)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
