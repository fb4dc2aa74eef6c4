"""Listeners: lower apps announce changes; we re-plan the children concerned after commit.

The broker only carries "look now": if publishing fails (Redis down, broker folder missing), we
log and move on, because the beat sweep re-plans everyone within minutes. A broker outage must
never turn a coordinator's saved change into an error page.
"""

import logging
from functools import partial

from django.db import transaction
from django.db.models.signals import post_save

from conversations import signals as conversation_signals
from journey import signals as journey_signals
from journey.models import ChecklistStep, Guardian
from reports import signals as report_signals
from tracker import signals as tracker_signals
from tracker.models import ScheduledLab

from . import followup

log = logging.getLogger(__name__)


def enqueue_plan(**ids):
    """plan_reminders.delay(**ids) once the transaction commits (ids only, never objects)."""
    transaction.on_commit(partial(_publish, ids))


def _publish(ids):
    from .tasks import plan_reminders

    try:
        plan_reminders.delay(**ids)
    except Exception:  # noqa: BLE001 - any broker error: the beat sweep catches up
        log.warning("could not enqueue plan_reminders(%s); the sweep will catch up", ids)


def on_journey_signal(sender, journey, **kwargs):
    enqueue_plan(patient_ids=[journey.patient_id])


def on_plan_changed(sender, plan, **kwargs):
    enqueue_plan(journey_ids=[plan.journey_id])


def on_plan_extended(sender, scheduled_lab, **kwargs):
    enqueue_plan(journey_ids=[scheduled_lab.journey_id])


def on_results_recorded(sender, journey, critical_ids=(), **kwargs):
    # A critical result is sent at once, any hour: plan, then dispatch straight away.
    enqueue_plan(patient_ids=[journey.patient_id], then_dispatch=bool(critical_ids))


def on_report_submitted(sender, report, **kwargs):
    # An urgent sign alerts the center's coordinators as a critical result does: at once.
    enqueue_plan(patient_ids=[report.patient_id], then_dispatch=report.urgent)


def on_report_answered(sender, report, **kwargs):
    # Answered: an alert not sent yet is no longer due (the plan cancels it).
    enqueue_plan(patient_ids=[report.patient_id])


def on_message_posted(sender, message, **kwargs):
    # Debounced in the plan itself (send_at after the burst's first unread message).
    _plan_thread(message.thread_id)


def on_thread_read(sender, thread, **kwargs):
    # Read before the email went: it is no longer due.
    _plan_thread(thread.pk)


def _plan_thread(thread_id):
    from .messages import plan_thread

    try:
        plan_thread(thread_id)
    except Exception:  # noqa: BLE001 - the message is saved; an email lost is logged, not a 500
        log.exception("could not plan message emails for thread %s", thread_id)


def on_scheduled_lab_saved(sender, instance, created, **kwargs):
    # Closing a draw as missed or done (mark_missed, complete_visit) ends its ladder at once.
    if not created:
        enqueue_plan(journey_ids=[instance.journey_id])


def on_step_saved(sender, instance, **kwargs):
    if instance.responsible == "family":
        enqueue_plan(journey_ids=[instance.journey_id])


def on_guardian_saved(sender, instance, created, **kwargs):
    # A new time zone moves every pending send instant of this guardian.
    if not created:
        enqueue_plan(guardian_ids=[instance.pk])


def on_access_changed(sender, patient_ids, **kwargs):
    # A restriction, an adult guardianship or an age change: reminders follow who may see.
    enqueue_plan(patient_ids=list(patient_ids))


def on_preference_saved(sender, instance, **kwargs):
    enqueue_plan(patient_ids=[instance.patient_id])


def connect():
    from .models import Preference

    uid = "notifications."
    journey_signals.stage_changed.connect(on_journey_signal, dispatch_uid=uid + "stage")
    journey_signals.schedule_changed.connect(on_journey_signal, dispatch_uid=uid + "schedule")
    journey_signals.access_changed.connect(on_access_changed, dispatch_uid=uid + "access")
    tracker_signals.plan_changed.connect(on_plan_changed, dispatch_uid=uid + "plan")
    tracker_signals.plan_extended.connect(on_plan_extended, dispatch_uid=uid + "extended")
    tracker_signals.results_recorded.connect(on_results_recorded, dispatch_uid=uid + "results")
    report_signals.report_submitted.connect(on_report_submitted, dispatch_uid=uid + "report")
    report_signals.report_answered.connect(on_report_answered, dispatch_uid=uid + "answered")
    conversation_signals.message_posted.connect(on_message_posted, dispatch_uid=uid + "message")
    conversation_signals.thread_read.connect(on_thread_read, dispatch_uid=uid + "read")
    post_save.connect(on_scheduled_lab_saved, sender=ScheduledLab, dispatch_uid=uid + "lab")
    post_save.connect(on_step_saved, sender=ChecklistStep, dispatch_uid=uid + "step")
    post_save.connect(on_guardian_saved, sender=Guardian, dispatch_uid=uid + "guardian")
    post_save.connect(on_preference_saved, sender=Preference, dispatch_uid=uid + "pref")
    journey_signals.patient_transferred.connect(
        followup.on_patient_transferred, dispatch_uid=uid + "transfer"
    )
