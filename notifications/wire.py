"""The bytes of a reminder email on the wire, written directly.

Django's SMTP backend builds a MIME tree and flattens it with the email package, which folds
every header through email.header and compiles a regular expression per multipart boundary:
that cost more than sending the email. Our emails have one shape (emails.build: multipart/
alternative, a UTF-8 text part and a UTF-8 HTML part, a few headers), so wire() writes that
shape itself with the same headers, encodings and address forms, and leaves anything else to
Django's own serialisation (tests/test_notifications_wire.py compares the two, parsed).
"""

import functools
import re
import uuid
from email.header import Header
from email.utils import formatdate

from django.conf import settings
from django.core.mail.message import RFC5322_EMAIL_LINE_LENGTH_LIMIT, sanitize_address

_CRLF = "\r\n"
# An address sanitize_address returns unchanged: a dot-atom local part at an ASCII domain.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                            r"@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")  # fmt: skip
_FOLD_AT = 78  # the email package folds longer header lines (compat32's max_line_length)
_NEWLINE = re.compile(r"\r\n|\r|\n")  # what the email package writes as CRLF
# One word without a place to fold (no space, `;` or `,`): the email package puts it on a
# line of its own, after the header's name (a signed link in List-Unsubscribe).
_ONE_WORD = re.compile(r"[!-+\--:<-~]+")


def wire(message):
    """(envelope sender, recipients, message bytes) that Django's SMTP backend would send for
    this EmailMultiAlternatives (the Date and the boundary aside)."""
    parts = _parts(message)
    if parts is None or not _plain_headers(message):
        return _django_wire(message)
    boundary = f"==============={uuid.uuid4().hex}=="
    headers = [
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "MIME-Version: 1.0",
        _header("Subject", message.subject),
        _header("From", address(message.from_email)),
        _header("To", ", ".join(address(a) for a in message.to)),
        f"Date: {formatdate(localtime=settings.EMAIL_USE_LOCALTIME)}",
        *(_header(name, value) for name, value in message.extra_headers.items()),
    ]
    lines = [*headers, "", *(f"--{boundary}{_CRLF}{part}" for part in parts), f"--{boundary}--"]
    data = _CRLF.join(lines) + _CRLF
    recipients = [address(a) for a in message.recipients()]
    return address(message.from_email), recipients, data.encode()


def address(value):
    """sanitize_address(value), without parsing the plain ones it returns unchanged."""
    if _PLAIN_ADDRESS.fullmatch(value):
        return value
    return _sanitized(value, settings.DEFAULT_CHARSET)


@functools.lru_cache(maxsize=64)  # the sender, the same for every email
def _sanitized(value, charset):
    return sanitize_address(value, charset)


def _parts(message):
    """The text and HTML parts as written on the wire; None for any other shape."""
    if message.attachments or message.cc or message.bcc or message.reply_to or message.encoding:
        return None
    if not message.recipients():
        return None
    if settings.DEFAULT_CHARSET.lower() != "utf-8" or len(message.alternatives) != 1:
        return None
    html, mimetype = message.alternatives[0]
    if mimetype != "text/html" or not isinstance(html, str):
        return None
    parts = [_part("plain", message.body), _part("html", html)]
    return None if None in parts else parts


def _part(subtype, text):
    """A UTF-8 part with 7bit/8bit encoding; None if a line is too long (Django then uses
    quoted-printable)."""
    lines = _NEWLINE.split(text)
    if any(len(line.encode()) > RFC5322_EMAIL_LINE_LENGTH_LIMIT for line in lines):
        return None
    encoding = "7bit" if text.isascii() else "8bit"
    head = f'Content-Type: text/{subtype}; charset="utf-8"{_CRLF}MIME-Version: 1.0{_CRLF}'
    body = _CRLF.join(lines)
    return f"{head}Content-Transfer-Encoding: {encoding}{_CRLF}{_CRLF}{body}"


def _plain_headers(message):
    """No header Django would refuse (a line break) or set differently (our own From, Date)."""
    values = [message.subject, message.from_email, *message.to]
    values += [f"{name}{value}" for name, value in message.extra_headers.items()]
    names = {name.lower() for name in message.extra_headers}
    return not names & {"from", "to", "date", "subject", "content-type", "mime-version"} and all(
        "\n" not in v and "\r" not in v for v in values
    )


def _header(name, value):
    """`Name: value`, encoded (non-ASCII) and folded as the email package does."""
    if not value.isascii():
        value = Header(value, "utf-8", header_name=name).encode(linesep=_CRLF)
    elif len(name) + 2 + len(value) > _FOLD_AT:
        if _ONE_WORD.fullmatch(value):
            return f"{name}:{_CRLF} {value}"
        value = Header(value, header_name=name).encode(linesep=_CRLF, maxlinelen=_FOLD_AT)
    return f"{name}: {value}"


def _django_wire(message):
    """What Django's SMTP backend sends, by Django's own code."""
    charset = message.encoding or settings.DEFAULT_CHARSET
    sender = sanitize_address(message.from_email, charset)
    recipients = [sanitize_address(a, charset) for a in message.recipients()]
    return sender, recipients, message.message().as_bytes(linesep=_CRLF)
