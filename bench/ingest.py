"""HL7 v2 results per second end to end: a real MLLP client -> the listener -> the inbox ->
the processing task -> tracker.services.batch.record_collections.

Each message is one collection (a journey's first post-infusion lab item, all its tests as OBX
segments, LOINC codes, the catalogue's units). The listener runs in a thread on a free port
(python-hl7's asyncio server, the database work in worker threads as in production);
`--connections` client connections send the messages, each waiting for each ACK. Meanwhile
`--workers` processes (forked before the listener starts) play Celery workers: each takes the
accepted messages that are its own (message id modulo workers), `--batch` at a time, and runs
the batch task on them (`process_messages.apply`: Celery's code path without a broker), until
the clients are done and nothing waits. `--workers 0`: everything sent first, then
`process_message.apply` in this process (each task takes the messages waiting beside its
own, as in production). Then, in the same run, the same LabResult rows are inserted with the
bare ORM, one create and one transaction per collection (`ratio_vs_bare_insert`: end-to-end
time / bare time), and with one bulk INSERT and one transaction per `--batch` collections,
no audit records (`ratio_vs_bulk_insert`: the floor of the database's own work).

    python bench/ingest.py [--patients 10000] [--results 10000] [--workers 2]
        [--connections 2] [--batch 20]
"""

import asyncio
import itertools
import multiprocessing
import queue
import random
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.results import _bare_insert, _collections  # noqa: E402

FACILITY = "BENCHLAB"
AUTHORITY = "BENCH-MRN"


def _message(control_id, journey, rows, tests, when):
    stamp = when.strftime("%Y%m%d%H%M%S+0000")
    facility = f"{FACILITY}-{journey.center_id}"
    lines = [
        f"MSH|^~\\&|LIS|{facility}|WAYPOINT|WP|{stamp}||ORU^R01^ORU_R01|{control_id}|P|2.5.1",
        f"PID|1||{journey.patient.medical_record_number}^^^{AUTHORITY}^MR||X^Y||20200101|U",
        f"OBR|1||ORD-{control_id}|PANEL^Panel^L|||{stamp}",
    ]
    for i, (code, value, unit) in enumerate(rows, 1):
        test = tests[code]
        lines.append(f"OBX|{i}|NM|{test.loinc}^{code}^LN||{value}|{_escape(unit)}|||||F")
    return ("\r".join(lines) + "\r").encode()


def _escape(text):
    return text.replace("\\", "\\E\\").replace("^", "\\S\\")


def _labs():
    """One lab system per scale center, the scale record numbers under its authority."""
    from devdata import scale
    from interfaces.models import LabSender
    from journey.models import Center

    labs = {}
    for center in Center.objects.filter(name__startswith=scale.CENTER_PREFIX):
        labs[center.pk], _ = LabSender.objects.get_or_create(
            sending_facility=f"{FACILITY}-{center.pk}",
            defaults={
                "center": center,
                "name": f"Bench lab {center.pk}",
                "assigning_authority": AUTHORITY,
            },
        )
    return labs


class Listener:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.ports = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        from interfaces.listener import serve

        asyncio.set_event_loop(self.loop)
        self.stop = asyncio.Event()
        self.loop.run_until_complete(serve("127.0.0.1", 0, ready=self.ports.put, stop=self.stop))

    def __enter__(self):
        self.thread.start()
        return self.ports.get(timeout=30)

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=30)


def _send(port, messages):
    """One lab connection: each message in turn, waiting for its ACK."""
    import hl7
    from hl7.client import MLLPClient

    with MLLPClient("127.0.0.1", port) as client:
        for raw in messages:
            answer = client.send_message(raw)
            code = str(hl7.parse(answer.decode().strip("\x0b\x1c\r") + "\r").segment("MSA")(1))
            if code != "AA":
                raise SystemExit(f"answered {code}: {answer!r}")


def _waiting(first_id, index, count):
    from django.db.models import F
    from django.db.models.functions import Mod

    from interfaces.models import InboundMessage, MessageStatus

    rows = InboundMessage.objects.filter(pk__gt=first_id, status=MessageStatus.RECEIVED)
    return rows.alias(slot=Mod(F("pk"), count)).filter(slot=index).order_by("pk")


def _worker(index, count, first_id, batch, sent):
    """A worker process: its own messages as they arrive, until sent and none waits."""
    from interfaces.tasks import process_messages

    while True:
        finished = sent.is_set()  # read before looking, so nothing sent after is missed
        ids = list(_waiting(first_id, index, count).values_list("pk", flat=True)[:batch])
        if ids:
            process_messages.apply(args=[ids], throw=True)
        elif finished:
            return
        else:
            time.sleep(0.02)


def _start_workers(args, first_id):
    """Forked before the listener's thread exists, each with its own database connection."""
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    sent = context.Event()
    workers = [
        context.Process(target=_worker, args=(i, args.workers, first_id, args.batch, sent))
        for i in range(args.workers)
    ]
    for worker in workers:
        worker.start()
    return sent, workers


def _send_all(messages, connections_count):
    with Listener() as port:
        slices = [messages[i::connections_count] for i in range(connections_count)]
        threads = [threading.Thread(target=_send, args=(port, part)) for part in slices]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _messages(count, rng):
    """ORU^R01 messages holding at least `count` results: (messages, results)."""
    from tracker.models import LabTest

    collections = _collections(count // 2, rng)
    if not collections:
        raise SystemExit("no journeys in monitoring: seed more patients")
    labs = _labs()
    assert len(labs) >= 1
    tests = {t.code: t for t in LabTest.objects.all()}
    when = datetime.now(UTC) - timedelta(hours=1)
    run_id = f"{int(time.time())}"
    messages, total = [], 0
    for n, (journey, rows) in enumerate(itertools.cycle(collections)):
        if total >= count:
            break
        # Each message its own collection time: a journey met again by the cycle is a new draw,
        # not a second result for the same test and time (which would wait as a duplicate).
        drawn = when - timedelta(seconds=n)
        messages.append(_message(f"R{run_id}-{n:07d}", journey, rows, tests, drawn))
        total += len(rows)
    return messages, total


def _copy(result, names):
    from tracker.models import LabResult

    fields = {n: getattr(result, n) for n in names}
    # Another time again (the bare insert took +1 microsecond): not a second current result.
    fields["collected_at"] = result.collected_at + timedelta(microseconds=2)
    return LabResult(**fields)


def _bulk_insert(collections, batch):
    """The floor for batches: the same rows, `batch` collections a transaction, one INSERT
    each, no audit records, in this one process. Returns seconds."""
    from django.db import transaction

    from tracker.models import LabResult

    skip = {"id", "public_id", "scheduled_lab"}
    names = [f.attname for f in LabResult._meta.concrete_fields if f.name not in skip]
    started = time.perf_counter()
    for start in range(0, len(collections), batch):
        rows = [_copy(r, names) for rows in collections[start : start + batch] for r in rows]
        with transaction.atomic():
            LabResult.objects.bulk_create(rows)
    return time.perf_counter() - started


def run(args):
    from interfaces.models import InboundMessage, InboundResult
    from interfaces.tasks import process_message

    rng = random.Random(args.seed)
    common.ensure_seeded(args.patients, args.centers, args.seed)
    if common.database_label() == "sqlite" and (args.workers or args.connections > 1):
        common.log("SQLite takes one writer at a time: --workers 0 --connections 1")
        args.workers, args.connections = 0, 1
    messages, total = _messages(args.results, rng)
    first_id = (InboundMessage.objects.order_by("-pk").values_list("pk", flat=True).first()) or 0
    common.log(
        f"sending {len(messages)} messages ({total} results) over MLLP on {args.connections} "
        f"connection(s); {args.workers} worker process(es)"
    )
    workers = _start_workers(args, first_id) if args.workers else None
    started = time.perf_counter()
    _send_all(messages, args.connections)
    sent = time.perf_counter()
    ids = list(
        InboundMessage.objects.filter(pk__gt=first_id).order_by("pk").values_list("pk", flat=True)
    )
    if workers:
        finished, processes = workers
        finished.set()
        for process in processes:
            process.join()
            if process.exitcode:
                raise SystemExit(f"a worker failed (exit code {process.exitcode})")
    else:
        for message_id in ids:
            process_message.apply(args=[message_id], throw=True)
    done = time.perf_counter()
    items = InboundResult.objects.filter(message_id__in=ids)
    recorded = items.filter(state="recorded").count()
    by_message = defaultdict(list)
    for item in items.exclude(lab_result=None).select_related("lab_result"):
        by_message[item.message_id].append(item.lab_result)
    bare_started = time.perf_counter()
    for rows in by_message.values():
        # One transaction per collection, as bench/results.py; a microsecond later, since one
        # test may have one current result per collection time.
        _bare_insert(rows, rows[0].collected_at + timedelta(microseconds=1))
    bare_s = time.perf_counter() - bare_started
    bulk_s = _bulk_insert(list(by_message.values()), args.batch)
    results = sum(len(rows) for rows in by_message.values())
    end_to_end = done - started
    return {
        "bench": "ingest",
        "messages": len(ids),
        "results": total,
        "recorded": recorded,
        "unmatched": items.filter(state="unmatched").count(),
        "seconds": round(end_to_end, 3),
        "listener_seconds": round(sent - started, 3),
        "task_seconds": round(done - sent, 3),
        "results_per_s": round(total / end_to_end, 1),
        "bare_insert_seconds": round(bare_s, 3),
        "bare_insert_results_per_s": round(results / bare_s, 1) if bare_s else None,
        "ratio_vs_bare_insert": round(end_to_end / bare_s, 2) if bare_s else None,
        "bulk_insert_seconds": round(bulk_s, 3),
        "bulk_insert_results_per_s": round(results / bulk_s, 1) if bulk_s else None,
        "ratio_vs_bulk_insert": round(end_to_end / bulk_s, 2) if bulk_s else None,
        "workers": args.workers,
        "connections": args.connections,
        "batch": args.batch,
        "patients": args.patients,
        "database": common.database_label(),
        "machine": common.machine(),
    }


def main(argv=None):
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--results", type=int, default=10_000)
    p.add_argument("--workers", type=int, default=2, help="Worker processes (0: after sending).")
    p.add_argument("--connections", type=int, default=2, help="MLLP client connections.")
    p.add_argument("--batch", type=int, default=20, help="Message ids per batch task.")
    args = p.parse_args(argv)
    common.setup_django()
    common.emit(run(args))


if __name__ == "__main__":
    main()
