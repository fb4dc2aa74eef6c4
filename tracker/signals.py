"""Signals the tracker sends, always after commit, for higher apps (notifications) to hear.

The reminders and e-mail work plugs in here; the tracker itself sends no mail.
"""

from django.dispatch import Signal

# plan=MonitoringPlan, version=PlanVersion: dates were created, moved or cancelled.
plan_changed = Signal()
# item=PlanItem, scheduled_lab=ScheduledLab (the draw added), result_ids=[int]
plan_extended = Signal()
# journey=Journey, result_ids=[int], critical_ids=[int] (critical results: alert at once)
results_recorded = Signal()
