"""The actor of every audited change, and a "viewed" record for each staff look at a patient."""

from auditlog.context import auditlog_value
from auditlog.middleware import AuditlogMiddleware
from django.apps import apps

from journey.security.ratelimits import client_ip

from . import events

# Admin URL name -> (model shown, URL kwarg holding its key, lookup field, context keys).
VIEW_TARGETS = {
    "admin:journey_patient_change": ("journey.patient", "object_id", "pk", ("original",)),
    "admin:journey_journey_change": ("journey.journey", "object_id", "pk", ("original",)),
    "admin:journey_journey_move_stage": ("journey.journey", "object_id", "pk", ("journey",)),
    "admin:journey_journey_infusion_date": ("journey.journey", "object_id", "pk", ("journey",)),
    "admin:journey_journey_eligibility": ("journey.journey", "object_id", "pk", ("journey",)),
    "admin:journey_journey_eligibility_result": (
        "journey.journey",
        "object_id",
        "pk",
        ("journey",),
    ),
    "admin:journey_guardian_change": ("journey.guardian", "object_id", "pk", ("original",)),
    "admin:journey_guardian_portal_access": (
        "journey.guardian",
        "object_id",
        "pk",
        ("guardian",),
    ),
    "admin:tracker_monitoringplan_change": (
        "tracker.monitoringplan",
        "object_id",
        "pk",
        ("plan",),
    ),
    "admin:tracker_labresult_change": ("tracker.labresult", "object_id", "pk", ("original",)),
    "admin:tracker_plan_print": ("journey.journey", "journey_id", "pk", ("journey",)),
    "admin:tracker_enter_results": ("journey.journey", "journey_id", "pk", ("journey",)),
    "admin:notifications_delivery_log": (
        "journey.patient",
        "public_id",
        "public_id",
        ("patient",),
    ),
    "admin:audit_patient_timeline": ("journey.patient", "patient_id", "pk", ("patient",)),
    # A family's outside lab report: its page, its check page and the file itself.
    "admin:reports_outsideresult_change": (
        "reports.outsideresult",
        "object_id",
        "pk",
        ("original",),
    ),
    "admin:reports_outsideresult_check": ("reports.outsideresult", "object_id", "pk", ("report",)),
    "admin:reports_outsideresult_file": ("reports.outsideresult", "object_id", "pk", ()),
}


class AuditActorMiddleware(AuditlogMiddleware):
    """auditlog's middleware, with the client address found as for lockouts and rate limits."""

    @staticmethod
    def _get_remote_addr(request):
        return client_ip(request)

    def __call__(self, request):
        try:
            return super().__call__(request)
        finally:
            # auditlog leaves the last request's actor in its context variable; clear it so
            # work done later in this thread (a test, a task) is not put on that person.
            auditlog_value.set({})


def shown_object(request, response, target):
    """The object the page showed: from the response's context, else looked up by the URL."""
    label, kwarg, lookup, context_keys = target
    model = apps.get_model(label)
    context = getattr(response, "context_data", None) or {}
    for key in context_keys:
        obj = context.get(key)
        if isinstance(obj, model):
            return obj
    value = request.resolver_match.kwargs.get(kwarg)
    if value is None:
        return None
    try:
        return model._base_manager.filter(**{lookup: value}).first()
    except (ValueError, TypeError):
        return None


class StaffViewAuditMiddleware:
    """After a staff page about a patient's record answered 200, record who looked at what."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        target = VIEW_TARGETS.get(match.view_name) if match else None
        if (
            target is None
            or request.method not in ("GET", "HEAD")
            or response.status_code != 200
            or not request.user.is_authenticated
            or not request.user.is_staff
        ):
            return response
        obj = shown_object(request, response, target)
        if obj is not None:
            events.record_view(request, obj)
        return response
