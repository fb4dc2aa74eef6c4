"""FHIR R4 results in over HTTP: POST /fhir/Observation and POST /fhir/Bundle.

A lab system authenticates with its own API token (Authorization: Bearer ...), no session, no
CSRF (no cookies are read). The body is stored in the inbox (interfaces.inbox.receive_fhir)
before the answer: 201 once stored, 200 with the same body for a re-sent identifier, 400 with
an OperationOutcome naming the reason, 401 without a valid token, 413 over 1 MB, 429 too fast.
"""

import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from journey.security.ratelimits import over_limit

from .hl7v2 import MAX_BYTES
from .inbox import receive_fhir
from .tokens import lab_for_token

FHIR_JSON = "application/fhir+json"


def outcome(status, code, text, **headers):
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    response = JsonResponse(body, status=status, content_type=FHIR_JSON)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _token(request):
    scheme, _space, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _length(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _accepted(row, kind, first):
    data = json.loads(bytes(row.raw))
    if kind == "Bundle":
        entries = [{"response": {"status": "201 Created"}} for _ in data.get("entry") or []]
        data = {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
    data["id"] = f"inbound-{row.pk}"
    response = JsonResponse(data, status=201 if first else 200, content_type=FHIR_JSON)
    response["Location"] = f"{kind}/inbound-{row.pk}"
    return response


def receive(request, kind):
    if over_limit(request, "fhir_in", "POST"):
        return outcome(429, "throttled", "Too many requests.", Retry_After="60")
    lab = lab_for_token(_token(request))
    if lab is None:
        return outcome(401, "login", "A valid API token is needed.", WWW_Authenticate="Bearer")
    raw = request.read(min(_length(request), MAX_BYTES + 1))
    row, first = receive_fhir(raw, lab, kind)
    if len(raw) > MAX_BYTES:
        return outcome(413, "too-costly", row.reason)
    if row.ack_code != "AA":
        return outcome(400, "invalid" if row.ack_code == "AE" else "not-supported", row.reason)
    return _accepted(row, kind, first)


@csrf_exempt
@require_POST
def observation(request):
    return receive(request, "Observation")


@csrf_exempt
@require_POST
def bundle(request):
    return receive(request, "Bundle")
