"""Processing an accepted message: map each observation, record through tracker's service.

Mapping: patient by PID-3 under the lab's assigning authority (the center's record number),
test by the lab's local code or LOINC, unit among the test's accepted units, value as typed
results are. Anything that does not match waits in the unmatched queue: nothing is guessed.
OBX-11: F final (recorded), C corrected (supersedes the result of the same order and test),
P preliminary (recorded as preliminary: shown as such, not counted until its final result
supersedes it), X cancelled (withdraws the preliminary result of the same order and test).
"""

import contextlib
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from journey.bulk import create_all, records_together
from journey.models import OPEN_STAGES, Journey
from tracker.services import (
    Collection,
    catalogue,
    correct_result,
    mark_entered_in_error,
    parse_value,
    record_collections,
)

from . import fhir_in, hl7v2
from .models import (
    InboundMessage,
    InboundResult,
    LocalCode,
    MessageStatus,
    Problem,
    ResultState,
    Source,
)

BOUNDS = ("<", ">", "\u2264", "\u2265")
CORRECTED_BY_LAB = "Corrected by the lab (HL7 OBX-11 C, or FHIR amended/corrected)."
FINAL_BY_LAB = "The lab's final result (HL7 OBX-11 F or C, FHIR final) after its preliminary one."
NEWER_PRELIMINARY = "A newer preliminary result from the lab (HL7 OBX-11 P, FHIR preliminary)."
CANCELLED_BY_LAB = "Cancelled by the lab (HL7 OBX-11 X, FHIR cancelled)."
KEPT = (ResultState.RECORDED, ResultState.PRELIMINARY)


class Unmatched(Exception):
    def __init__(self, problem, detail):
        super().__init__(detail)
        self.problem = problem
        self.detail = str(detail)[:500]


def process_message(message_id, *, now=None, shared=None):
    """Process one accepted message once; a second call (or a re-sent copy) does nothing, nor
    does a call while another worker holds it. `shared`: a batch's Catalogue."""
    now = now or timezone.now()
    with transaction.atomic():
        message = (
            InboundMessage.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("lab__center")
            .filter(pk=message_id, status=MessageStatus.RECEIVED)
            .first()
        )
        if message is None:
            return None
        with records_together():  # the message's audit records: one INSERT, same transaction
            _process(message, now, shared)
    return message


def _process(message, now, shared):
    try:
        report = read(message)
    except hl7v2.Refused as refused:
        message.status, message.reason = MessageStatus.ERROR, refused.reason[:500]
    else:
        items = items_of(message, report)
        settle(items, by=None, now=now, shared=shared)
        message.status = MessageStatus.PROCESSED
    message.processed_at = now
    message.save(update_fields=["status", "reason", "processed_at"])


def process_messages(message_ids, *, now=None):
    """A batch of messages together (interfaces.batch). Returns the processed."""
    from .batch import process_messages as together

    return together(message_ids, now=now)


def read(message):
    """The stored message's Report, whichever its source (HL7 v2 or FHIR)."""
    raw = bytes(message.raw)
    if message.source == Source.FHIR:
        return fhir_in.read_report(raw, message.sender)
    return hl7v2.read_report(hl7v2.parse_message(hl7v2.decode(raw)))


def items_of(message, report):
    """One InboundResult (not saved, unmatched until settled) per observation of the report."""
    lab = message.lab
    items = []
    for patient in report.patients:
        number = next((n for n, auth in patient.ids if auth == lab.assigning_authority), "")
        shown = "; ".join(f"{n} ({auth})" if auth else n for n, auth in patient.ids)
        for order in patient.orders:
            collected = hl7v2.in_zone(order.collected, lab.time_zone) if order.collected else None
            for obs in order.observations:
                items.append(
                    InboundResult(
                        message=message,
                        center=lab.center,
                        position=obs.position,
                        patient_ids=shown[:250],
                        record_number=number,
                        patient_name=patient.name,
                        birth_date=patient.birth_date,
                        order_id=order.order_id,
                        code=obs.code,
                        code_text=obs.text,
                        value=obs.value,
                        unit=obs.unit,
                        reference_range=obs.reference_range,
                        result_status=obs.status,
                        collected_at=collected,
                        state=ResultState.UNMATCHED,
                    )
                )
    return items


class Catalogue:
    """What a batch of messages reads once: the lab catalogue (units and ranges) and each
    lab's local codes. Derived data, not patient data; read per batch, never kept longer."""

    def __init__(self):
        self.by_code = catalogue()
        self.by_pk = {t.pk: t for t in self.by_code.values()}
        self.by_loinc = {t.loinc: t for t in self.by_code.values()}
        self._local = {}

    def local(self, lab_id):
        if lab_id not in self._local:
            self.read_local([lab_id])
        return self._local[lab_id]

    def read_local(self, lab_ids):
        """The local codes of these labs, in one query for those not read yet."""
        missing = [pk for pk in set(lab_ids) if pk not in self._local]
        for pk in missing:
            self._local[pk] = {}
        codes = LocalCode.objects.filter(sender__in=missing).order_by()
        for lab_id, code, test_id in codes.values_list("sender_id", "code", "test_id"):
            self._local[lab_id][code] = test_id


class _Lookups:
    """What one settle reads once for its items (one message's or a batch's): the catalogue
    (or the batch's), the labs' local codes, the journeys of the record numbers, and the
    results already recorded for these orders."""

    def __init__(self, items, shared=None, journeys=None):
        self.shared = shared = shared or Catalogue()
        self.catalogue, self.by_pk, self.by_loinc = shared.by_code, shared.by_pk, shared.by_loinc
        shared.read_local({i.message.lab_id for i in items})
        self.journeys = dict(journeys) if journeys is not None else journeys_of(items)
        orders = {i.order_id for i in items if i.order_id}
        recorded = InboundResult.objects.filter(
            message__lab__in={i.message.lab_id for i in items},
            order_id__in=orders,
            state__in=KEPT,
            lab_result__superseded_at__isnull=True,
            lab_result__entered_in_error_at__isnull=True,
        ).annotate(sender_lab=F("message__lab"))
        self.earlier = {
            (r.sender_lab, r.order_id, r.code, r.journey_id): r
            for r in recorded.select_related("lab_result").order_by("pk")
        }

    def journey(self, item):
        key = (item.center_id, item.record_number)
        if key not in self.journeys:
            try:
                self.journeys[key] = find_journey(item)
            except Unmatched as miss:
                self.journeys[key] = miss
        found = self.journeys[key]
        if isinstance(found, Unmatched):
            raise found
        return found

    def test(self, item):
        if item.test_id:
            return self.by_pk[item.test_id]
        test_id = self.shared.local(item.message.lab_id).get(item.code)
        test = self.by_pk.get(test_id) if test_id else self.by_loinc.get(item.code)
        if test is None or not item.code:
            raise Unmatched(
                Problem.TEST, _("Neither a LOINC code of the catalogue nor a local code.")
            )
        return test

    def earlier_of(self, item):
        """The recorded result of the same lab, order and test, still current (for C, a final
        after a preliminary, a cancellation, or a re-sent final with a new message id)."""
        if not item.order_id:
            return None
        return self.earlier.get((item.message.lab_id, item.order_id, item.code, item.journey_id))


def journeys_of(items):
    """{(center, record number): the one open journey, or Unmatched}, in one query; the
    journeys locked in pk order (what record_results would lock, all at once: two batches
    never wait for each other in a circle)."""
    keys = {(i.center_id, i.record_number) for i in items if i.record_number and not i.journey_id}
    if not keys:
        return {}
    rows = Journey.objects.filter(
        stage__in=OPEN_STAGES,
        center__in={center for center, _n in keys},
        patient__medical_record_number__in={number for _c, number in keys},
    ).annotate(number=F("patient__medical_record_number"))
    rows = rows.select_for_update(of=("self",)).order_by("pk")
    found = defaultdict(list)
    for journey in rows:
        found[(journey.center_id, journey.number)].append(journey)
    return {key: _one(found[key]) for key in keys}


def _one(journeys):
    if len(journeys) == 1:
        return journeys[0]
    if not journeys:
        return Unmatched(Problem.PATIENT, _("No open journey has this record number."))
    return Unmatched(Problem.PATIENT, _("More than one open journey has this record number."))


def find_journey(item):
    """The open journey of the child with this record number at the lab's center."""
    if not item.record_number:
        raise Unmatched(Problem.PATIENT, _("No identifier from the lab's assigning authority."))
    journeys = Journey.objects.filter(
        center=item.center_id,
        stage__in=OPEN_STAGES,
        patient__medical_record_number=item.record_number,
    )
    found = _one(list(journeys[:2]))
    if isinstance(found, Unmatched):
        raise found
    return found


def check_value(item, test):
    """(value, unit as the catalogue spells it), or Unmatched."""
    if item.value.startswith(BOUNDS):
        raise Unmatched(Problem.VALUE, _("A bound, not a value: enter it by hand if it matters."))
    units = {u.unit.lower(): u.unit for u in test.units.all()}
    unit = units.get(item.unit.lower())
    if unit is None:
        message = _("Unit %(unit)s is not accepted for %(test)s.")
        raise Unmatched(Problem.UNIT, message % {"unit": repr(item.unit), "test": test.code})
    try:
        parse_value(test, item.value, unit)
    except ValidationError as exc:
        raise Unmatched(Problem.VALUE, " ".join(exc.messages)) from exc
    return item.value, unit


def _prepare(item, lookups):
    """Resolve one item: (value, unit) when it is to be recorded, else None (its state set)."""
    if item.result_status == "X":
        item.state, item.problem, item.detail = ResultState.CANCELLED, "", ""
        with contextlib.suppress(Unmatched):  # the child, for the preliminary it cancels
            item.journey = item.journey or lookups.journey(item)
        return None
    try:
        if item.collected_at is None:
            raise Unmatched(Problem.OTHER, _("No collection time (OBR-7)."))
        if item.journey_id is None:
            item.journey = lookups.journey(item)
        item.test = lookups.test(item)
        value, unit = check_value(item, item.test)
    except Unmatched as miss:
        item.state, item.problem, item.detail = ResultState.UNMATCHED, miss.problem, miss.detail
        return None
    return value, unit


def _preliminary(item):
    return item.result_status == "P"


def settle(items, *, by, now, shared=None, journeys=None):
    """Decide and record each item (new, or unmatched and taken again) of one message or of a
    batch's round (`journeys`: the batch's, read and locked once); saves them all."""
    if not items:
        return
    lookups = _Lookups(items, shared, journeys)
    batches = defaultdict(list)
    for item in items:
        ready = _prepare(item, lookups)
        earlier = lookups.earlier_of(item)
        if earlier is not None and earlier.pk == item.pk:
            earlier = None
        if ready is None:
            if item.state == ResultState.CANCELLED and earlier is not None:
                _cancel(item, earlier, by, now)
            continue
        if earlier is None:
            key = (item.journey_id, item.collected_at, _preliminary(item))
            batches[key].append((item, ready))
        elif _preliminary(item) and not earlier.lab_result.preliminary:
            # A final result is never replaced by a preliminary one: kept, not recorded.
            item.state, item.problem, item.detail = ResultState.PRELIMINARY, "", ""
        else:
            _correct(item, earlier, ready, by, now)
    _record(list(batches.items()), by, now, lookups.catalogue)
    _save(items)


def _save(items):
    """New items in one INSERT (each announced as saved: audit); those taken again (an
    unmatched one a coordinator matched or retried) one by one."""
    old = [item for item in items if item.pk is not None]
    create_all(InboundResult, [item for item in items if item.pk is None])
    for item in old:
        item.save()


def _cancel(item, earlier, by, now):
    """X after P: the preliminary result no longer counts nor shows (its row is kept)."""
    old = earlier.lab_result
    if old.preliminary:
        mark_entered_in_error(old, by=by, reason=CANCELLED_BY_LAB, now=now)
        item.lab_result = old


def _correct(item, earlier, ready, by, now):
    old, preliminary = earlier.lab_result, _preliminary(item)
    state = ResultState.PRELIMINARY if preliminary else ResultState.RECORDED
    same = old.value_entered == ready[0].strip() and old.unit_entered == ready[1]
    if same and old.preliminary == preliminary:
        item.state, item.lab_result, item.problem, item.detail = state, old, "", ""
        return
    reason = CORRECTED_BY_LAB
    if old.preliminary:
        reason = NEWER_PRELIMINARY if preliminary else FINAL_BY_LAB
    try:
        new = correct_result(
            old, ready[0], ready[1], by=by, reason=reason, now=now, preliminary=preliminary
        )
    except (ValidationError, ValueError) as exc:
        _miss(item, Problem.VALUE, exc)
        return
    item.state, item.lab_result, item.problem, item.detail = state, new, "", ""


def _record(batches, by, now, tests):
    """All collections in one call of record_collections; a row the service refuses waits
    alone and the other rows of its collection are recorded in a second pass."""
    while batches:
        wanted = [
            Collection(journey, collected, [(i.test.code, *ready) for i, ready in batch], prelim)
            for (journey, collected, prelim), batch in batches
        ]
        record_collections(wanted, by=by, now=now, tests=tests)
        again = []
        for (key, batch), done in zip(batches, wanted, strict=True):
            again += _outcome(key, batch, done)
        batches = again


def _outcome(key, batch, done):
    """Set each item's state from its collection's outcome; returns what is to try again."""
    if done.error is None:
        state = ResultState.PRELIMINARY if key[2] else ResultState.RECORDED
        for (i, _ready), result in zip(batch, done.results, strict=True):
            i.state, i.lab_result, i.problem, i.detail = state, result, "", ""
        return []
    if not isinstance(done.error, ValidationError):
        for i, _ready in batch:
            _miss(i, Problem.OTHER, done.error)
        return []
    bad = set(getattr(done.error, "error_dict", {}) or {})
    kept = [(i, r) for i, r in batch if i.test.code not in bad]
    for i, _ready in batch:
        if i.test.code in bad or len(kept) == len(batch):
            _miss(i, Problem.VALUE, done.error)
    return [(key, kept)] if kept and len(kept) < len(batch) else []


def _miss(item, problem, exc):
    messages = getattr(exc, "messages", None) or [str(exc)]
    item.state, item.problem, item.detail = ResultState.UNMATCHED, problem, " ".join(messages)[:500]
