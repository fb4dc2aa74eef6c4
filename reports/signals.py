"""Signals the reports app sends (after commit); notifications listens in its AppConfig.ready."""

from django.dispatch import Signal

# report=SymptomReport: a family sent a report (report.urgent: alert the center at once).
report_submitted = Signal()
# report=SymptomReport, by=User: a coordinator answered it (a pending alert is no longer due).
report_answered = Signal()
