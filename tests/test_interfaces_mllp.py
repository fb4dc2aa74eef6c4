"""The running MLLP listener, a real MLLP client (python-hl7's MLLPClient), and bad input.

GIVEN the listener in a thread on a free port (its own event loop; database work in threads,
      as in production) and a lab system registered for center A
WHEN  a client sends real-shaped messages and broken ones over the same and new connections
THEN  each gets its ACK (AA, AE or AR with the reason), each is kept in the inbox, and the
      listener still answers afterwards.
"""

import asyncio
import queue
import socket
import threading

import hl7
import pytest
from django.core.management import call_command
from hl7.client import MLLPClient

from interfaces import processing
from interfaces.listener import serve
from interfaces.models import InboundMessage, MessageStatus
from tests.hl7_samples import child, liver, make_lab
from tracker.models import LabResult


@pytest.fixture
def catalogue_back(django_db_blocker):
    """The transactional test empties every table: put back the catalogue the session loaded."""
    yield
    with django_db_blocker.unblock():
        call_command("load_catalogue", verbosity=0)
        call_command("load_labs", verbosity=0)


@pytest.fixture
def listener(catalogue_back, transactional_db):
    loop = asyncio.new_event_loop()
    ports = queue.Queue()
    box = {}

    def run():
        asyncio.set_event_loop(loop)
        box["stop"] = asyncio.Event()
        loop.run_until_complete(serve("127.0.0.1", 0, ready=ports.put, stop=box["stop"]))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    port = ports.get(timeout=10)
    yield port
    loop.call_soon_threadsafe(box["stop"].set)
    thread.join(timeout=10)
    loop.close()


def code_and_reason(answer):
    text = answer.decode() if isinstance(answer, bytes) else answer
    msa = hl7.parse(text.strip("\x0b\x1c\r") + "\r").segment("MSA")
    return str(msa(1)), str(msa(3))


def send(port, raw):
    with MLLPClient("127.0.0.1", port) as client:
        return code_and_reason(client.send_message(raw))


def send_raw(port, data):
    """Bytes as they are (no MLLP framing added); the answer, or b'' if the peer closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


BROKEN = {
    "truncated in MSH": (liver(id="T1")[:60], "AR"),  # no message type left
    "truncated before OBX": (liver(id="T2").split(b"OBR|")[0], "AE"),
    "wrong encoding characters": (liver(id="E1").replace(b"^~\\&", b"^^^^", 1), "AE"),
    "unknown version": (liver(id="V1").replace(b"|2.5.1|", b"|9.9|", 1), "AR"),
    "not ORU^R01": (liver(id="A1").replace(b"ORU^R01^ORU_R01", b"ADT^A01", 1), "AR"),
    "binary": (bytes(range(256)) * 4, "AE"),
    "latin-1 without saying so": (liver(id="L1").replace(b"Maya", "Maïa".encode("latin-1")), "AE"),
    "10 MB": (liver(id="B1") + b"NTE|1||" + b"x" * 10_000_000 + b"\r", "AR"),
}


def test_real_client_gets_AA_and_results_flow(listener, center_a):
    make_lab(center_a)
    journey = child(center_a)
    assert send(listener, liver(id="LIVE1")) == ("AA", "")
    assert send(listener, liver(id="LIVE1")) == ("AA", "")  # re-sent: same answer
    row = InboundMessage.objects.get(control_id="LIVE1")
    assert row.status == MessageStatus.RECEIVED
    processing.process_message(row.pk)
    assert LabResult.objects.filter(journey=journey).count() == 4

    for name, (raw, expected) in BROKEN.items():
        code, reason = send(listener, raw)
        assert code == expected, name
        assert reason, name
    assert InboundMessage.objects.count() == 1 + len(BROKEN)
    big = InboundMessage.objects.get(size__gt=10_000_000)
    assert big.status == MessageStatus.REJECTED and len(bytes(big.raw)) < 100_000

    # No MLLP start byte, then a connection dropped mid-block: the listener lives on.
    assert code_and_reason(send_raw(listener, b"hello\x1c\r"))[0] == "AR"
    assert send_raw(listener, b"\x0bMSH|^~\\&|half") == b""
    assert send(listener, liver(id="LIVE2")) == ("AA", "")
