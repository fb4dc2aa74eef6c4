"""The text-message provider behind one small interface.

    backend.send(to, body, idempotency_key) -> the provider's message id
    backend.probe() -> None when the provider answers, else the error (the breaker's probe)

Errors are typed, as the SMTP ones are sorted in dispatch.py:
- Unreachable: no answer at all (refused, timed out, disconnected): the breaker trips, no
  attempt spent; a timeout may hide an acceptance, so the re-send carries the same key;
- Transient: the provider answered "not now" (429, 5xx): retried with backoff;
- Permanent: the provider refused this message (4xx); `number_status` says when the refusal is
  about the number itself (invalid, unsubscribed): texts to it stop.
"""

import logging
import uuid

import requests
from django.conf import settings
from django.utils.module_loading import import_string
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from .models import NumberStatus

log = logging.getLogger(__name__)
# The SDK logs every request's URL and headers at INFO: numbers and keys stay out of our logs.
_sdk_log = logging.getLogger("notifications.sms.sdk")
_sdk_log.setLevel(logging.WARNING)

TWILIO_API = "https://api.twilio.com"
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
# Twilio's error codes that are about the number, not the message.
NUMBER_ERRORS = {
    21211: NumberStatus.INVALID,  # invalid "To" number
    21614: NumberStatus.INVALID,  # not a mobile number
    21217: NumberStatus.INVALID,  # not a valid phone number
    21610: NumberStatus.UNSUBSCRIBED,  # the recipient replied STOP to our sender
}


class SmsError(Exception):
    def __init__(self, message, code=None, number_status=None):
        super().__init__(message)
        self.code = code
        self.number_status = number_status


class Unreachable(SmsError):
    """No answer from the provider."""


class Transient(SmsError):
    """The provider answered "later" (429, 5xx)."""


class Permanent(SmsError):
    """The provider refused the message for good."""


class ConsoleBackend:
    """`make demo` and local runs: each text is one INFO line in the log."""

    def send(self, to, body, idempotency_key):
        log.info("text to %s [%s]: %s", to, idempotency_key, body)
        return f"console-{uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key).hex}"

    def probe(self):
        return None


class _HttpClient(TwilioHttpClient):
    """The SDK's own HTTP client, pointed at `base` (a local fake in tests) and adding the
    idempotency key of the message being sent to its request."""

    def __init__(self, base, timeout):
        super().__init__(timeout=timeout, logger=_sdk_log)
        self.base = base.rstrip("/") if base else ""
        self.idempotency_key = None

    def request(self, method, url, params=None, data=None, headers=None, **kwargs):
        if self.base and url.startswith(TWILIO_API):
            url = self.base + url[len(TWILIO_API) :]
        headers = dict(headers or {})
        if self.idempotency_key:
            headers[IDEMPOTENCY_HEADER] = self.idempotency_key
        return super().request(method, url, params=params, data=data, headers=headers, **kwargs)


class TwilioBackend:
    """Twilio's official SDK (twilio.rest.Client) with our error sorting."""

    def __init__(self):
        self.http = _HttpClient(settings.TWILIO_API_BASE, settings.SMS_TIMEOUT_SECONDS)
        self.client = Client(
            settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=self.http
        )

    def send(self, to, body, idempotency_key):
        self.http.idempotency_key = idempotency_key
        try:
            return self.client.messages.create(to=to, from_=settings.TWILIO_FROM, body=body).sid
        except TwilioRestException as exc:
            raise _sorted(exc) from exc
        except requests.RequestException as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
        finally:
            self.http.idempotency_key = None

    def probe(self):
        try:
            self.client.api.v2010.accounts(settings.TWILIO_ACCOUNT_SID).fetch()
        except TwilioRestException as exc:
            if exc.status == 429 or exc.status >= 500:
                return f"HTTP {exc.status}: {exc.msg}"
            return None  # it answered
        except requests.RequestException as exc:
            return f"{type(exc).__name__}: {exc}"
        return None


def _sorted(exc):
    text = f"HTTP {exc.status} ({exc.code}): {exc.msg}"
    if exc.status == 429 or exc.status >= 500:
        return Transient(text, exc.code or exc.status)
    return Permanent(text, exc.code or exc.status, NUMBER_ERRORS.get(exc.code))


BACKENDS = {"console": ConsoleBackend, "twilio": TwilioBackend}


def get_backend():
    name = settings.SMS_BACKEND
    cls = BACKENDS.get(name) or import_string(name)
    return cls()
