"""Rate limits on the doors that can be hammered: login, password reset, invitation links, the
two-factor code and the calendar feed (django-ratelimit counters in the Django cache).

One table (settings.WAYPOINT_RATE_LIMITS) names, per URL, the keys counted and their rates;
the middleware checks them before the view runs and answers 429 with a plain page.
"""

from django.conf import settings
from django.shortcuts import render
from django_ratelimit.core import is_ratelimited

from .staff_pages import page_context

# URL name (namespace:name) -> (limits entry, methods counted).
GUARDED = {
    "login": ("login", ["POST"]),
    "admin:login": ("login", ["POST"]),
    "password_reset": ("password_reset", ["POST"]),
    "accept_invitation": ("accept_invitation", ["GET", "POST"]),
    "two_factor:verify": ("two_factor", ["POST"]),
    "two_factor:setup": ("two_factor", ["POST"]),
    "portal_tracker:feed": ("calendar_feed", ["GET", "HEAD"]),
    "portal_reports:new": ("symptom_report", ["POST"]),
    "portal_reports:outside_new": ("outside_result", ["POST"]),
    "portal_messages:new": ("secure_message", ["POST"]),
    "portal_messages:thread": ("secure_message", ["POST"]),
}


def client_ip(request):
    """The client's address: behind N proxies, the Nth address from the right of X-F-F."""
    proxies = settings.WAYPOINT_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or "0.0.0.0"


def _key(name):
    """A django-ratelimit key for one of the table's key names."""
    if name == "ip":
        return "ip"
    if name == "user":
        return "user_or_ip"
    if name == "token":
        return lambda group, request: request.resolver_match.kwargs.get("token", "")
    # A form field, normalised like the lockout's username (trimmed, lower-cased).
    return lambda group, request: (request.POST.get(name) or "").strip().lower()


def over_limit(request, limits_name, method):
    limits = settings.WAYPOINT_RATE_LIMITS.get(limits_name, {})
    hits = [
        is_ratelimited(
            request,
            group=f"{limits_name}:{key}",
            key=_key(key),
            rate=rate,
            method=method,
            increment=True,
        )
        for key, rate in limits.items()
    ]
    return any(hits)


def too_many_requests(request, exception=None):
    context = page_context(request)
    response = render(request, "security/too_many_requests.html", context, status=429)
    response["Retry-After"] = "600"
    return response


class RateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        guarded = GUARDED.get(match.view_name) if match else None
        if guarded is None or request.method not in guarded[1]:
            return None
        if over_limit(request, guarded[0], guarded[1]):
            return too_many_requests(request)
        return None
