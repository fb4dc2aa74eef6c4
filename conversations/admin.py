"""The coordinators' message inbox: unassigned, mine, waiting on the family, closed.

Center-scoped like every admin list (another center's thread answers 404). Nothing here edits
what anyone wrote: the change page shows the messages, takes a reply, an assignee and "close",
and passes them to conversations.services. Opening a thread marks it read for that person.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from journey.access import center_ids_for
from journey.admin.scoping import CenterScopedAdmin, ReadOnlyInline
from journey.models import User

from . import services, signals, staffing
from .models import MAX_BODY, BusinessHours, Message, Thread, ThreadEvent
from .models import ThreadStatus as S
from .views import file_response


def colleagues(user):
    """Staff who share a center with this user (everyone staff, for a superuser)."""
    staff = User.objects.filter(is_staff=True, is_active=True)
    ids = center_ids_for(user)
    if ids is not None:
        staff = staff.filter(memberships__center_id__in=ids).distinct()
    return staff.order_by("full_name", "email")


class InboxFilter(admin.SimpleListFilter):
    title = _("inbox")
    parameter_name = "inbox"

    def lookups(self, request, model_admin):
        return [
            ("unassigned", _("Unassigned")),
            ("mine", _("Mine")),
            ("family", _("Waiting on the family")),
            ("closed", _("Closed")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "unassigned":
            return queryset.filter(assigned_to__isnull=True).exclude(status=S.CLOSED)
        if value == "mine":
            return queryset.filter(assigned_to=request.user).exclude(status=S.CLOSED)
        if value == "family":
            return queryset.filter(status=S.FAMILY)
        if value == "closed":
            return queryset.filter(status=S.CLOSED)
        return queryset


class OrphanFilter(admin.SimpleListFilter):
    """Open threads whose assignee is deactivated or no longer works at the thread's center."""

    title = _("assignee can no longer answer")
    parameter_name = "orphan"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes: deactivated or left the center"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=staffing.orphaned_threads().values("pk"))
        return queryset


class AssignActionForm(ActionForm):
    assignee = forms.ModelChoiceField(
        label=_("Colleague"), queryset=User.objects.none(), required=False
    )


class ReplyForm(forms.ModelForm):
    reply = forms.CharField(
        label=_("Reply to the family"),
        required=False,
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": MAX_BODY}),
    )
    close_thread = forms.BooleanField(label=_("Close the thread"), required=False)

    class Meta:
        model = Thread
        fields = ["assigned_to"]


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ["created_at", "sender", "body", "attachment"]
    readonly_fields = fields
    ordering = ["created_at", "pk"]
    verbose_name_plural = _("messages")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author", "thread")

    @admin.display(description=_("from"))
    def sender(self, obj):
        side = _("family") if obj.from_family else _("care team")
        return f"{obj.author or '-'} ({side})"

    @admin.display(description=_("attachment"))
    def attachment(self, obj):
        if not obj.file:
            return "-"
        url = reverse("admin:conversations_thread_file", args=[obj.thread_id, obj.public_id])
        return format_html('<a href="{}">{}</a>', url, obj.get_file_type_display())


class EventInline(ReadOnlyInline):
    model = ThreadEvent
    fields = ["at", "kind", "by", "to"]
    readonly_fields = fields
    verbose_name_plural = _("history")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by", "to")


SHOWN = ["patient", "subject", "status", "created_at", "last_message_at", "respond_by"]


@admin.register(Thread)
class ThreadAdmin(CenterScopedAdmin):
    list_display = [
        "subject",
        "patient",
        "status",
        "assigned_to",
        "last_message_at",
        "unread_count",
        "clock",
    ]
    list_filter = [InboxFilter, "status", OrphanFilter]
    list_select_related = ["patient", "assigned_to"]
    search_fields = ["patient__last_name", "patient__first_name", "subject"]
    ordering = ["-last_message_at", "-pk"]
    form = ReplyForm
    fields = SHOWN + ["assigned_to", "reply", "close_thread"]
    readonly_fields = SHOWN
    inlines = [MessageInline, EventInline]
    action_form = AssignActionForm
    actions = ["assign_to_colleague", "take", "close_threads"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        """Each row with the messages this person has not read (their own read state)."""
        return services.with_unread(super().get_queryset(request), request.user)

    @admin.display(description=_("unread"), ordering="unread")
    def unread_count(self, obj):
        return obj.unread or "-"

    def get_urls(self):
        view = self.admin_site.admin_view(self.attachment_view)
        extra = [
            path(
                "<path:object_id>/files/<uuid:message_id>/",
                view,
                name="conversations_thread_file",
            )
        ]
        return extra + super().get_urls()

    def attachment_view(self, request, object_id, message_id):
        thread = self.get_object(request, object_id)  # another center's thread: 404
        response = file_response(get_object_or_404(Message, thread=thread, public_id=message_id))
        signals.thread_viewed.send(sender=Thread, request=request, thread=thread)
        return response

    def changelist_view(self, request, extra_context=None):
        self.action_form.base_fields["assignee"].queryset = colleagues(request.user)
        return super().changelist_view(request, extra_context)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assigned_to":
            kwargs["queryset"] = colleagues(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            thread = response.context_data["original"]
            services.mark_read(thread, request.user)
            signals.thread_viewed.send(sender=Thread, request=request, thread=thread)
        return response

    def save_model(self, request, obj, form, change):
        """Through the services only: assign, reply, close (each leaves its history)."""
        data, now = form.cleaned_data, timezone.now()
        to = data.get("assigned_to")
        if to is not None and "assigned_to" in form.changed_data:
            services.assign(obj, to, request.user, now)
        if data.get("reply", "").strip():
            services.post_message(obj, request.user, data["reply"], now=now)
        if data.get("close_thread"):
            services.close(obj, request.user, now)

    @admin.display(description=_("respond by"), ordering="respond_by")
    def clock(self, obj):
        if obj.respond_by is None:
            return "-"
        if obj.is_overdue(timezone.now()):
            return format_html("<strong>{}</strong> · {}", _("Overdue"), obj.respond_by)
        return obj.respond_by

    @admin.action(description=_("Assign to the colleague chosen below"))
    def assign_to_colleague(self, request, queryset):
        to = request.POST.get("assignee")
        colleague = colleagues(request.user).filter(pk=to).first() if to else None
        if colleague is None:
            self.message_user(request, _("Choose a colleague first."), messages.ERROR)
            return
        self._assign(request, queryset, colleague)

    @admin.action(description=_("Assign to me"))
    def take(self, request, queryset):
        self._assign(request, queryset, request.user)

    def _assign(self, request, queryset, to):
        done = 0
        for thread in queryset:
            try:
                done += services.assign(thread, to, request.user)
            except ValidationError as exc:
                self.message_user(request, f"{thread}: {exc.messages[0]}", messages.ERROR)
        text = ngettext("%(n)d thread assigned.", "%(n)d threads assigned.", done)
        self.message_user(request, text % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Close"))
    def close_threads(self, request, queryset):
        done = sum(services.close(thread, request.user) for thread in queryset)
        text = ngettext("%(n)d thread closed.", "%(n)d threads closed.", done)
        self.message_user(request, text % {"n": done}, messages.SUCCESS)


@admin.register(BusinessHours)
class BusinessHoursAdmin(CenterScopedAdmin):
    list_display = ["center", "opens", "closes", "weekdays", "response_hours"]
    list_select_related = ["center"]
