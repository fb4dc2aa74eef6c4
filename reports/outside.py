"""Outside results from the family: check what they send, keep it apart, verify or reject it.

A report is checked exactly like the coordinator's entry (tracker's parse_value and collection
checks, errors by field) but saved as a reports.OutsideResult, never a LabResult: nothing
counts until a coordinator verifies it, which records the result through
tracker.services.record_results (flags, exit rules, draws completed, alerts) and links it.
"""

import datetime as dt
import os
import zoneinfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from journey import uploads
from journey.inputs import require_reason
from journey.prepared import Prepared
from tracker.services import check_collected_at, parse_value, record_results

from .models_outside import MAX_FILE_NAME, OutsideResult, OutsideStatus


def upload_type(upload):
    """The upload's FileType by its content, or a ValidationError on "upload"."""
    wrong = _("Send a photo (JPEG or PNG) or a PDF of the lab report.")
    return uploads.checked_type(upload, field="upload", wrong_type=wrong)


def collected_at_for(day, zone, now):
    """A family gives a day, not a time: noon that day in the center's zone (now, when that is
    today and noon is still ahead)."""
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=zone)
    if day == now.astimezone(zone).date():
        return min(noon, now)
    return noon


def check_typed(journey, test, value, unit, day, now):
    """Check a typed result as the staff entry does; return its collection time. Raises a
    ValidationError keyed by "value", "unit" or "collected_on"."""
    parse_value(test, value, unit)
    zone = zoneinfo.ZoneInfo(journey.center.time_zone)
    try:
        collected_at = collected_at_for(day, zone, now)
    except OverflowError:
        raise ValidationError({"collected_on": _("Enter a real date.")}) from None
    try:
        check_collected_at(collected_at, journey.patient.date_of_birth, now, zone)
    except ValidationError as exc:
        raise ValidationError({"collected_on": exc.message_dict["collected_at"]}) from exc
    return collected_at


def submit_outside_result(
    guardian,
    journey,
    *,
    test=None,
    value="",
    unit="",
    collected_on=None,
    lab_name="",
    upload=None,
    now=None,
):
    """Save what the family sent, apart from the real results. The caller has checked the
    typed values (check_typed); the file's type is checked here, by its content."""
    now = now or timezone.now()
    report = OutsideResult(
        patient=journey.patient,
        journey=journey,
        center_id=journey.patient.center_id,
        guardian=guardian,
        test=test,
        value=(value or "").strip() if test else "",
        unit=unit if test else "",
        collected_on=collected_on if test else None,
        lab_name=(lab_name or "").strip(),
        created_at=now,
    )
    if upload is not None:
        report.file_type = upload_type(upload)
        report.file_name = os.path.basename(upload.name or "")[:MAX_FILE_NAME]
        report.file = upload
    with transaction.atomic():
        report.save()
    return report


def _locked_pending(report):
    locked = (
        OutsideResult.objects.select_for_update(of=("self",))
        .select_related("test", "journey__center", "journey__patient")
        .get(pk=report.pk)
    )
    if locked.status != OutsideStatus.PENDING:
        raise ValidationError(_("This report was already checked."))
    return locked


def verify_outside_result(report, *, by, test, value, unit, collected_on, note="", now=None):
    """Record the result as checked by the coordinator (as the family typed it, or corrected):
    through record_results, so flags, exit rules and draws follow. Returns the LabResult."""
    now = now or timezone.now()
    value = str(value or "").strip()
    with transaction.atomic():
        locked = _locked_pending(report)
        journey = locked.journey
        collected_at = check_typed(journey, test, value, unit, collected_on, now)
        sent = (locked.test_id, locked.value, locked.unit, locked.collected_on)
        corrected = locked.test_id is not None and sent != (test.pk, value, unit, collected_on)
        if corrected:
            note = require_reason(note, "note")
        try:
            results = record_results(
                journey, collected_at, [(test.code, value, unit)], by=by, now=now
            )
        except ValidationError as exc:
            raise ValidationError({"value": exc.message_dict.get(test.code, exc.messages)}) from exc
        locked.status = OutsideStatus.CORRECTED if corrected else OutsideStatus.VERIFIED
        locked.verified_by, locked.verified_at, locked.result = by, now, results[0]
        locked.verify_note = (note or "").strip()
        locked.save(update_fields=["status", "verified_by", "verified_at", "result", "verify_note"])
    return results[0]


def reject_outside_result(report, *, by, reason, now=None):
    """Not the child's result, or unreadable: it never counts; who, when and why are kept."""
    reason = require_reason(reason, "note")
    with transaction.atomic():
        locked = _locked_pending(report)
        locked.status, locked.verified_by = OutsideStatus.REJECTED, by
        locked.verified_at, locked.verify_note = now or timezone.now(), reason
        locked.save(update_fields=["status", "verified_by", "verified_at", "verify_note"])
    return locked


# Read on every labs page: compiled once (journey.prepared).
PENDING = Prepared(
    lambda patient_id: (
        OutsideResult.objects.filter(patient_id=patient_id, status=OutsideStatus.PENDING)
        .select_related("test")
        .order_by("-created_at", "-pk")
    ),
    patient_id=int,
)


def pending_for(patient):
    """The child's reports the care team has not checked yet, newest first (one query)."""
    return PENDING.run(patient_id=patient.pk)
