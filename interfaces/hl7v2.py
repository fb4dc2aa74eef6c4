"""HL7 v2 ORU^R01: bytes -> a plain Report (python-hl7 does the parsing), and the ACK back.

Nothing here touches the database. Problems raise Refused with the ACK code to answer
(AE: the message is broken; AR: we do not take this kind of message).
"""

import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime

import hl7
from hl7.datatypes import parse_datetime

MAX_BYTES = 1_000_000
VERSIONS = re.compile(r"^2\.(3|3\.1|4|5|5\.1|6|7|7\.1|8)$")
SEGMENT_BREAKS = re.compile(r"\r\n|\n|\r")
_SAFE = re.compile(r"[^\x20-\x7e\u00a0-\uffff]")


class Refused(Exception):
    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class Observation:
    position: int
    code: str
    system: str
    text: str
    value_type: str
    value: str
    unit: str
    reference_range: str
    status: str


@dataclass
class Order:
    order_id: str
    collected: datetime | None  # naive when the lab gave no offset: the lab's zone applies
    observations: list = field(default_factory=list)


@dataclass
class PatientBlock:
    ids: list  # [(id, assigning authority)]
    name: str
    birth_date: object
    orders: list = field(default_factory=list)


@dataclass
class Report:
    sender: str
    control_id: str
    patients: list = field(default_factory=list)


def get(segment, number, repetition=1, component=1):
    """One field's component, unescaped; '' when absent."""
    try:
        return str(segment.extract_field(1, number, repetition, component, 1) or "").strip()
    except (IndexError, KeyError, TypeError, ValueError):
        return ""


def decode(raw):
    """Bytes -> text with \r between segments, or Refused."""
    if len(raw) > MAX_BYTES:
        raise Refused("AR", f"Message too large ({len(raw)} bytes, at most {MAX_BYTES}).")
    if b"\x00" in raw:
        raise Refused("AE", "Binary data, not an HL7 message.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        if b"8859/1" not in raw[:400]:
            raise Refused("AE", "Not UTF-8 text (say 8859/1 in MSH-18 for Latin-1).") from None
        text = raw.decode("latin-1")
    text = SEGMENT_BREAKS.sub("\r", text.strip())
    if not text.startswith("MSH"):
        raise Refused("AE", "The message does not start with an MSH segment.")
    seps = text[3:8]
    if len(seps) < 5 or len(set(seps)) != 5 or any(c.isalnum() or c.isspace() for c in seps):
        raise Refused("AE", "MSH-1 and MSH-2 do not hold five distinct encoding characters.")
    return text


def parse_message(text):
    try:
        return hl7.parse(text)
    except Exception as exc:  # the parser's errors are not a documented family
        raise Refused("AE", f"Could not parse the message: {type(exc).__name__}.") from exc


def msh_only(raw):
    """The MSH segment alone, parsed, of a message refused before parsing (too large, wrong
    encoding), so that its ACK can name it; None when even that cannot be read."""
    head = SEGMENT_BREAKS.split(raw[:4000].decode("utf-8", "replace").strip(), maxsplit=1)[0]
    if not head.startswith("MSH") or "\ufffd" in head:
        return None
    try:
        return decode_and_parse(head.encode("utf-8"))
    except Refused:
        return None


def decode_and_parse(raw):
    return parse_message(decode(raw))


def header(message):
    """(sender, control id) of a parsed message, or ('', '') when MSH is unreadable."""
    try:
        msh = message.segment("MSH")
    except (KeyError, IndexError):
        return "", ""
    return get(msh, 4)[:180], get(msh, 10)[:199]


def check_header(message):
    msh = message.segment("MSH")
    kind = f"{get(msh, 9, 1, 1)}^{get(msh, 9, 1, 2)}"
    if kind != "ORU^R01":
        raise Refused("AR", f"Unsupported message type {clean(kind)}: only ORU^R01.")
    version = get(msh, 12)
    if not VERSIONS.match(version):
        raise Refused("AR", f"Unsupported HL7 version {clean(version)!r}: 2.3 to 2.8.")
    sender, control_id = header(message)
    if not sender:
        raise Refused("AE", "MSH-4 (sending facility) is empty.")
    if not control_id:
        raise Refused("AE", "MSH-10 (message control id) is empty.")
    return sender, control_id


def read_report(message):
    """The patients, orders and observations of a checked ORU^R01."""
    sender, control_id = check_header(message)
    report = Report(sender, control_id)
    patient = order = None
    position = 0
    for segment in message:
        name = str(segment[0]).strip()
        if name == "PID":
            patient = _patient(segment)
            report.patients.append(patient)
            order = None
        elif name == "OBR":
            if patient is None:
                raise Refused("AE", "OBR before any PID segment.")
            order = Order(get(segment, 3)[:100] or get(segment, 2)[:100], _time(get(segment, 7)))
            patient.orders.append(order)
        elif name == "OBX":
            if order is None:
                raise Refused("AE", "OBX before any OBR segment.")
            position += 1
            order.observations.append(_observation(segment, position))
    if not position:
        raise Refused("AE", "The message holds no OBX result.")
    return report


def _patient(segment):
    ids = []
    for repetition in range(1, 6):
        number = get(segment, 3, repetition, 1)
        if number:
            ids.append((number[:60], get(segment, 3, repetition, 4)[:60]))
    name = " ".join(p for p in (get(segment, 5, 1, 2), get(segment, 5, 1, 1)) if p)
    born = _time(get(segment, 7))
    return PatientBlock(ids, name[:200], born.date() if born else None)


def _time(value):
    if not value:
        return None
    try:
        return parse_datetime(value)
    except (ValueError, TypeError, OverflowError):
        raise Refused("AE", f"Unreadable date/time {clean(value)!r}.") from None


def _observation(segment, position):
    return Observation(
        position=position,
        code=get(segment, 3, 1, 1)[:60],
        system=get(segment, 3, 1, 3)[:20],
        text=get(segment, 3, 1, 2)[:200],
        value_type=get(segment, 2)[:3],
        value=get(segment, 5)[:200],
        unit=get(segment, 6, 1, 1)[:40],
        reference_range=get(segment, 7)[:60],
        status=get(segment, 11)[:2] or "F",
    )


def in_zone(moment, zone_name):
    """An HL7 time with its offset as given, else in the lab's zone; aware."""
    if moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=zoneinfo.ZoneInfo(zone_name))


def clean(text, limit=80):
    """Text safe to echo in an ACK (no separators, no control characters)."""
    return _SAFE.sub("?", str(text)).translate(str.maketrans("|^~\\&", "/////"))[:limit]


def ack(message, code, reason="", control_id="ACK"):
    """The ACK for a parsed message (python-hl7's create_ack), or a plain one for bytes
    that could not be parsed. MSA-3 carries the reason."""
    if message is not None:
        try:
            reply = message.create_ack(code, message_id=control_id)
            reply.segment("MSA").assign_field(clean(reason), 3)
            return str(reply).encode("utf-8")
        except (KeyError, IndexError, ValueError, TypeError, AttributeError):
            pass
    now = datetime.utcnow().strftime("%Y%m%d%H%M%S")  # noqa: DTZ003 (HL7 TS, UTC)
    text = (
        f"MSH|^~\\&|WAYPOINT|WAYPOINT|||{now}||ACK|{clean(control_id)}|P|2.5.1\r"
        f"MSA|{code}||{clean(reason)}\r"
    )
    return text.encode("utf-8")
