"""Signals the journey app sends (after commit, but for journeys_moved) for higher apps to
listen to.

journey imports nothing of ours; tracker and notifications connect in their AppConfig.ready.
"""

from django.dispatch import Signal

# journey=Journey, change=StageChange
stage_changed = Signal()
# journey=Journey, change=InfusionDateChange
schedule_changed = Signal()
# journey=Journey, old_therapy_id=int or None, by=User or None: the therapy was chosen or
# changed (the tracker draws the plan from the new therapy's label at once).
therapy_changed = Signal()
# transfer=CenterTransfer: a child was handed over to another center (notifications tells
# the guardians).
patient_transferred = Signal()
# patient_id=int, to_center_id=int: sent INSIDE the transfer's transaction, synchronously, right
# after the child's journeys moved: rows that copy the journey's center (tracker's scheduled labs
# and results) move with them, or the transfer fails as a whole.
journeys_moved = Signal()
# journey=Journey, change=StageChange: the journey just ended (closed, withdrawn or not
# eligible), sent INSIDE the stage move's transaction, synchronously: what only an open
# journey keeps open (tracker's scheduled labs) closes with it, or the move fails as a whole.
journey_ended = Signal()
# patient_ids=[int]: who may see or act for these children changed (a restriction, an adult
# guardianship, an age transition); reminders are re-planned for the guardians who still may.
access_changed = Signal()
