"""The drop folder: each file in incoming/ is one HL7 message; it is stored through the same
inbox as the listener's, then moved to done/ (with its ACK beside it) or failed/."""

import logging
from pathlib import Path

from django.db import transaction

from .inbox import receive_hl7
from .models import Channel

log = logging.getLogger(__name__)


def folders(root):
    root = Path(root)
    paths = {name: root / name for name in ("incoming", "done", "failed")}
    for path in paths.values():
        path.mkdir(parents=True, exist_ok=True)
    return paths


def pick_up(root):
    """Take every file waiting in incoming/; return how many were taken."""
    paths = folders(root)
    taken = 0
    for path in sorted(p for p in paths["incoming"].iterdir() if p.is_file()):
        if path.name.startswith("."):
            continue  # still being written (write to .name, then rename)
        with transaction.atomic():
            row, answer = receive_hl7(path.read_bytes(), Channel.FOLDER)
        target = paths["done"] if row.ack_code == "AA" else paths["failed"]
        name = f"{row.pk}-{path.name}"
        (target / f"{name}.ack").write_bytes(answer)
        path.replace(target / name)
        taken += 1
    return taken
