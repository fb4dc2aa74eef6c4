"""The family's message pages: thin views over conversations.services.

The child comes from journey.access.get_child_or_404 on every request (another family's child,
or a guardianship that ended, is a 404); a thread is looked up only among that child's threads.
"""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from journey import uploads
from journey.access import get_child_or_404
from journey.views import guardian_required

from . import access, services, signals
from .forms import MessageForm, NewThreadForm
from .models import Message


def _posted(request):
    if request.method == "POST":
        return request.POST, request.FILES
    return None, None


@never_cache
@require_GET
@guardian_required
def thread_list(request, public_id):
    child = get_child_or_404(request.user, public_id)
    threads = services.with_unread(access.threads_for_child(child), request.user)
    context = {
        "child": child,
        "page": "messages",
        "threads": threads.order_by("-last_message_at", "-pk"),
        "can_message": access.can_message(request.user, child),
    }
    return render(request, "portal/messages/list.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@guardian_required
def new_thread(request, public_id):
    child = get_child_or_404(request.user, public_id)
    if not access.can_message(request.user, child):
        raise PermissionDenied
    form = NewThreadForm(*_posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        thread = services.start_thread(
            request.guardian, child, data["subject"], data["body"], data["upload"] or None
        )
        return redirect("portal_messages:thread", child.public_id, thread.public_id)
    context = {"child": child, "page": "messages", "form": form}
    return render(request, "portal/messages/new.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@guardian_required
def thread(request, public_id, thread_id):
    child = get_child_or_404(request.user, public_id)
    found = access.get_thread_or_404(child, thread_id)
    can_message = access.can_message(request.user, child)
    form = MessageForm(*_posted(request))
    if request.method == "POST":
        if not can_message:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            services.post_message(
                found, request.user, data["body"], request.guardian, data["upload"] or None
            )
            return redirect("portal_messages:thread", child.public_id, found.public_id)
    messages = found.messages.select_related("author").order_by("created_at", "pk")
    context = {
        "child": child,
        "page": "messages",
        "thread": found,
        "thread_messages": list(messages),  # "messages" is the flash messages (base.html)
        "form": form,
        "can_message": can_message,
    }
    response = render(request, "portal/messages/thread.html", context)
    if request.method == "GET":
        services.mark_read(found, request.user)
        signals.thread_viewed.send(sender=type(found), request=request, thread=found)
    return response


def file_response(message):
    """The attachment as a private download (journey.uploads.attachment)."""
    day = message.created_at.date().isoformat()
    filename = f"message-{day}.{message.file_type}"
    return uploads.attachment(message.file, message.file_type, filename)


@never_cache
@require_GET
@guardian_required
def attachment(request, public_id, thread_id, message_id):
    child = get_child_or_404(request.user, public_id)
    found = access.get_thread_or_404(child, thread_id)
    response = file_response(get_object_or_404(Message, thread=found, public_id=message_id))
    signals.thread_viewed.send(sender=type(found), request=request, thread=found)
    return response
