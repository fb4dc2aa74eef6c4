"""AuditRecord: django-auditlog's log entry, swapped in (AUDITLOG_LOGENTRY_MODEL) with the
patient and guardian it concerns, the event's name and the reason given.

Append-only: saving an existing record, deleting one, or a bulk update or delete raises.
On PostgreSQL a trigger refuses the same (migration 0002); the only change it lets through is
the actor becoming NULL when a user is deleted (the record keeps actor_email).
"""

from auditlog.models import AbstractLogEntry, LogEntryManager
from django.db import models
from django.db.models.signals import pre_save
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """An audit record may be added, never changed or removed."""


class AuditRecordQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit records cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Audit records cannot be deleted.")

    def for_patient(self, patient_id, guardian_ids):
        """A patient's records, and those of their guardians (invitations, access)."""
        return self.filter(models.Q(patient_id=patient_id) | models.Q(guardian_id__in=guardian_ids))


class AuditRecordManager(LogEntryManager.from_queryset(AuditRecordQuerySet)):
    def create(self, **kwargs):
        """auditlog's log_create ends here: while a burst is held (audit.batching), the record
        waits to be written with the others, in the same transaction."""
        from .batching import holding

        held = holding()
        if held is None:
            return super().create(**kwargs)
        record = self.model(**kwargs)
        # What save() would announce now: auditlog's context fills in the actor from it.
        pre_save.send(
            sender=self.model, instance=record, raw=False, using=self.db, update_fields=None
        )
        held.append(record)
        return record

    def log_create(self, instance, force_log=False, **kwargs):
        from .registry import describe

        for key, value in describe(instance, kwargs.get("action")).items():
            kwargs.setdefault(key, value)
        return super().log_create(instance, force_log=force_log, **kwargs)


class Event(models.TextChoices):
    CREATED = "created", _("created")
    UPDATED = "updated", _("changed")
    DELETED = "deleted", _("deleted")
    VIEWED = "viewed", _("viewed")
    LOGIN = "login", _("logged in")
    LOGIN_FAILED = "login_failed", _("failed login")
    LOGOUT = "logout", _("logged out")
    OTP_VERIFIED = "otp_verified", _("second factor passed")
    OTP_FAILED = "otp_failed", _("second factor failed")
    OTP_ENABLED = "otp_enabled", _("two-step login turned on")
    OTP_DISABLED = "otp_disabled", _("two-step login turned off")
    BACKUP_CODES_RENEWED = "backup_codes_renewed", _("new backup codes")
    SESSION_EXPIRED = "session_expired", _("session expired")


class AuditRecord(AbstractLogEntry):
    event = models.CharField(_("event"), max_length=30, choices=Event.choices, db_index=True)
    patient_id = models.BigIntegerField(_("patient"), null=True, blank=True)
    guardian_id = models.BigIntegerField(_("guardian"), null=True, blank=True)
    reason = models.TextField(_("why"), blank=True)
    path = models.CharField(_("page"), max_length=300, blank=True)

    objects = AuditRecordManager()

    class Meta(AbstractLogEntry.Meta):
        verbose_name = _("audit record")
        verbose_name_plural = _("audit records")
        indexes = [
            # The patient's audit timeline, newest first.
            models.Index(fields=["patient_id", "-timestamp"], name="audit_patient_time"),
            # Guardian records (invitations, access) shown on their children's timelines.
            models.Index(fields=["guardian_id", "-timestamp"], name="audit_guardian_time"),
        ]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit records cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit records cannot be deleted.")

    @property
    def before(self):
        return {field: pair[0] for field, pair in (self.changes or {}).items() if _pair(pair)}

    @property
    def after(self):
        return {field: pair[1] for field, pair in (self.changes or {}).items() if _pair(pair)}


def _pair(value):
    return isinstance(value, list | tuple) and len(value) == 2
