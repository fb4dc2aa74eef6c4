"""Who may see and write which thread. The portal and the admin both use these helpers.

A guardian reaches a thread only through the child (journey.access.get_child_or_404): the
guardianship is read on every request, so a guardian who loses access (revoked, the child's
age transition) loses the child's threads at once. Staff see their centers' threads.
"""

from django.shortcuts import get_object_or_404

from journey.access import Action, can_act, scope_to_centers

from .models import Thread


def can_message(user, patient):
    """May this user write to the child's care team? A guardian whose role allows it now
    (journey.access.can_act): a view-only guardian, or one restricted to reading, reads the
    threads but does not write; a hidden one does not reach the child at all."""
    return can_act(user, patient, Action.MESSAGE)


def threads_for_child(child):
    return Thread.objects.filter(patient=child)


def get_thread_or_404(child, thread_id):
    """One of this child's threads (the child already checked for the user); else 404."""
    return get_object_or_404(threads_for_child(child), public_id=thread_id)


def threads_for_staff(user):
    return scope_to_centers(Thread.objects.all(), user, "center")
