"""Signals the journey app sends (always after commit) for higher apps to listen to.

journey imports nothing of ours; tracker and notifications connect in their AppConfig.ready.
"""

from django.dispatch import Signal

# journey=Journey, change=StageChange
stage_changed = Signal()
# journey=Journey, change=InfusionDateChange
schedule_changed = Signal()
