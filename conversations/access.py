"""Who may see and write which thread. The portal and the admin both use these helpers.

A guardian reaches a thread only through the child (journey.access.get_child_or_404): the
guardianship is read on every request, so a guardian who loses access (revoked, the child's
age transition) loses the child's threads at once. Staff see their centers' threads.
"""

from django.shortcuts import get_object_or_404

from journey.access import patients_for_guardian, scope_to_centers

from .models import Thread


def can_message(user, patient):
    """May this user write to the child's care team? Any guardian of the child, today.

    The one place a guardian's role (e.g. view-only custody) will narrow who may write.
    """
    return patients_for_guardian(user).filter(pk=patient.pk).exists()


def threads_for_child(child):
    return Thread.objects.filter(patient=child)


def get_thread_or_404(child, thread_id):
    """One of this child's threads (the child already checked for the user); else 404."""
    return get_object_or_404(threads_for_child(child), public_id=thread_id)


def threads_for_staff(user):
    return scope_to_centers(Thread.objects.all(), user, "center")
