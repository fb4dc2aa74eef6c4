"""GET /health/ and GET /metrics: the outbox's health for uptime monitors and Prometheus.

/health/ needs no login and shows no patient data: counts, ages and both relays' states; 503
past the HEALTH_* thresholds (or without a database), so any uptime monitor can page.
/metrics exposes the same gauges in Prometheus' format (prometheus_client) to a bearer
METRICS_TOKEN or to a client address in METRICS_ALLOWED_NETWORKS (loopback by default).
"""

import hmac
import ipaddress
import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from journey.security.ratelimits import client_ip

from . import health

log = logging.getLogger(__name__)

GAUGES = [
    ("oldest_overdue_seconds", "Age of the oldest due reminder not yet sent"),
    ("pending", "Reminders waiting to be sent (due or not)"),
    ("due", "Reminders due now and not yet sent"),
    ("failed_24h", "Reminders that failed in the last 24 hours"),
    ("stuck", "Reminders held past their lease by a worker that died"),
    ("relay_down_seconds", "How long the mail relay has been down (0: up)"),
    ("sms_relay_down_seconds", "How long the text-message provider has been down (0: up)"),
]


@never_cache
@require_GET
def health_view(request):
    try:
        snap = health.snapshot()
    except DatabaseError:
        log.exception("health check: database unreachable")
        return JsonResponse({"status": "failing", "problems": ["database"]}, status=503)
    return JsonResponse(snap.as_dict(), status=200 if snap.healthy else 503)


class OutboxCollector:
    """Reads the snapshot at each scrape: the gauges are never stale."""

    def describe(self):
        return []

    def collect(self):
        snap = health.snapshot()
        for name, text in GAUGES:
            yield GaugeMetricFamily(f"waypoint_outbox_{name}", text, value=getattr(snap, name))
        yield GaugeMetricFamily(
            "waypoint_relay_up", "1 when the mail relay answers", value=int(snap.relay == "up")
        )
        yield GaugeMetricFamily(
            "waypoint_sms_relay_up",
            "1 when the text-message provider answers",
            value=int(snap.sms_relay == "up"),
        )
        yield GaugeMetricFamily(
            "waypoint_health_ok", "1 when /health/ answers 200", value=int(snap.healthy)
        )


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(OutboxCollector())


@never_cache
@require_GET
def metrics_view(request):
    if not allowed(request):
        return HttpResponse(status=403)
    try:
        body = generate_latest(REGISTRY)
    except DatabaseError:
        log.exception("metrics: database unreachable")
        return HttpResponse(status=503)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def allowed(request):
    """A bearer METRICS_TOKEN, or a client address inside METRICS_ALLOWED_NETWORKS."""
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if token and given and hmac.compare_digest(given.encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    networks = (ipaddress.ip_network(n, strict=False) for n in settings.METRICS_ALLOWED_NETWORKS)
    return any(address in network for network in networks)
