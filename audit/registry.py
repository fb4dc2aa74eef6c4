"""Which models django-auditlog follows, and how a record finds its patient, actor and reason.

Every domain model whose change matters is registered: auditlog stores a create, update or
delete record with the fields' before and after values. The domain's own history rows
(StageChange, PlanVersion, DeliveryAttempt...) stay the working history; their creation is
recorded here too, so the trail is complete in one table.
"""

from auditlog.models import AbstractLogEntry
from auditlog.registry import auditlog
from django.apps import apps

Action = AbstractLogEntry.Action
EVENT_FOR_ACTION = {
    Action.CREATE: "created",
    Action.UPDATE: "updated",
    Action.DELETE: "deleted",
    Action.ACCESS: "viewed",
}

# model label -> path from the instance to the patient's pk ("" is the instance itself).
PATIENT_PATHS = {
    "journey.patient": "",
    "journey.journey": "patient_id",
    "journey.diagnosis": "patient_id",
    "journey.finding": "patient_id",
    "journey.guardianship": "patient_id",
    "journey.guardianshiprestriction": "guardianship__patient_id",
    "journey.adultguardianship": "guardianship__patient_id",
    "journey.agetransition": "patient_id",
    "journey.stagechange": "journey__patient_id",
    "journey.checkliststep": "journey__patient_id",
    "journey.eligibilitycheck": "journey__patient_id",
    "journey.infusiondatechange": "journey__patient_id",
    "journey.insurancecoverage": "journey__patient_id",
    "journey.priorauthorization": "journey__patient_id",
    "journey.appeal": "authorization__journey__patient_id",
    "journey.accessarrangement": "journey__patient_id",
    "journey.travelsupport": "journey__patient_id",
    "journey.contactconfirmation": "patient_id",
    "journey.followuprisk": "patient_id",
    "journey.centertransfer": "patient_id",
    "journey.careassignment": "patient_id",
    "tracker.monitoringplan": "journey__patient_id",
    "tracker.planversion": "plan__journey__patient_id",
    "tracker.labresult": "journey__patient_id",
    "tracker.planreview": "journey__patient_id",
    "tracker.drawsitechange": "journey__patient_id",
    "tracker.familynote": "journey__patient_id",
    "tracker.familynoterevision": "note__journey__patient_id",
    "reports.symptomreport": "patient_id",
    "reports.outsideresult": "patient_id",
    "conversations.thread": "patient_id",
    "conversations.message": "thread__patient_id",
    "conversations.threadevent": "thread__patient_id",
    "notifications.preference": "patient_id",
    "notifications.deliveryattempt": "reminder__patient_id",
    "interfaces.inboundresult": "journey__patient_id",
}
GUARDIAN_PATHS = {
    "journey.guardian": "",
    "journey.guardianship": "guardian_id",
    "journey.guardianshiprestriction": "guardianship__guardian_id",
    "journey.adultguardianship": "guardianship__guardian_id",
    "journey.invitation": "guardian_id",
    "journey.portalaccesschange": "guardian_id",
    "journey.contactconfirmation": "guardian_id",
    "reports.symptomreport": "guardian_id",
    "reports.outsideresult": "guardian_id",
    "conversations.message": "guardian_id",
    "notifications.preference": "guardian_id",
}
# Registered with these auditlog options (token hashes and passwords never stored).
REGISTERED = {
    "journey.user": {"exclude_fields": ["password", "last_login"]},
    "journey.membership": {},
    "journey.center": {},
    "journey.centercriterionsetting": {},
    "journey.patient": {},
    "journey.guardian": {},
    "journey.guardianship": {},
    "journey.diagnosis": {},
    "journey.finding": {},
    "journey.journey": {},
    "journey.stagechange": {},
    "journey.checkliststep": {},
    "journey.eligibilitycheck": {},
    "journey.infusiondatechange": {},
    "journey.insurancecoverage": {},
    "journey.priorauthorization": {},
    "journey.appeal": {},
    "journey.accessarrangement": {},
    "journey.travelsupport": {},
    "journey.contactconfirmation": {},
    "journey.followuprisk": {},
    "journey.centertransfer": {},
    "journey.careassignment": {},
    "journey.staffhandover": {},
    "journey.invitation": {"exclude_fields": ["token_hash"]},
    "journey.portalaccesschange": {},
    "journey.guardianshiprestriction": {},
    "journey.adultguardianship": {},
    "journey.agepolicy": {},
    "journey.agetransition": {},
    "tracker.monitoringplan": {},
    "tracker.planversion": {},
    "tracker.labresult": {},
    "tracker.planreview": {},
    "tracker.locallab": {},
    "tracker.drawsitechange": {},
    "tracker.familynote": {},
    "tracker.familynoterevision": {},
    "reports.symptomreport": {},
    "reports.outsideresult": {},
    "conversations.thread": {},
    "conversations.message": {},
    "conversations.threadevent": {},
    "conversations.businesshours": {},
    "notifications.preference": {},
    "notifications.centernotificationsettings": {},
    "notifications.deliveryattempt": {},
    "interfaces.labsender": {"exclude_fields": ["api_token_hash"]},
    "interfaces.localcode": {},
    "interfaces.inboundresult": {},
}
# The domain row's own "who" when no request is behind the change (services, Celery).
ACTOR_FIELDS = (
    "moved_by",
    "run_by",
    "changed_by",
    "created_by",
    "entered_by",
    "reviewed_by",
    "recorded_by",
    "done_by",
    "decided_by",
    "answered_by",
    "verified_by",
    "by",
    "resolved_by",
    "written_by",
)
REASON_FIELDS = (
    "reason",
    "correction_reason",
    "override_reason",
    "review_note",
    "missed_reason",
    "cancel_reason",
    "extension_end_reason",
    "answer_note",
    "resolution",
    "verify_note",
)


def register_models():
    """Only the models' own columns: reverse relations would cost a query each (and a missing
    one-to-one would be cached as missing on the instance)."""
    for label, options in REGISTERED.items():
        model = apps.get_model(label)
        if model in auditlog.get_models():
            continue
        excluded = set(options.get("exclude_fields", []))
        include = [f.name for f in model._meta.concrete_fields if f.name not in excluded]
        auditlog.register(model, include_fields=include)


def follow(instance, path):
    """The value at `path` ("journey__patient_id"), using cached relations before a query."""
    if path == "":
        return instance.pk
    if "__" not in path:
        return getattr(instance, path, None)
    first, rest = path.split("__", 1)
    cached = instance._state.fields_cache.get(first)
    if cached is not None:
        return follow(cached, rest)
    field = instance._meta.get_field(first)
    fk_value = getattr(instance, field.attname, None)
    if fk_value is None:
        return None
    manager = field.related_model._base_manager
    return manager.filter(pk=fk_value).values_list(rest, flat=True).first()


def _domain_actor(instance):
    """(user id, email if the user object is at hand) of the row's own "who" field."""
    for name in ACTOR_FIELDS:
        value = getattr(instance, f"{name}_id", None)
        if value is not None:
            cached = instance._state.fields_cache.get(name)
            return value, getattr(cached, "email", None)
    return None, None


def _reason(instance):
    for name in REASON_FIELDS:
        value = getattr(instance, name, "")
        if value and isinstance(value, str):
            return value
    return ""


def describe(instance, action):
    """The fields AuditRecord adds to auditlog's: event, patient, guardian, reason, actor."""
    label = instance._meta.label_lower
    values = {
        "event": EVENT_FOR_ACTION.get(action, "updated"),
        "reason": _reason(instance),
    }
    if label in PATIENT_PATHS:
        values["patient_id"] = follow(instance, PATIENT_PATHS[label])
    if label in GUARDIAN_PATHS:
        values["guardian_id"] = follow(instance, GUARDIAN_PATHS[label])
    # A new domain row names who made it; for a change, the request's actor (middleware) counts.
    if action == Action.CREATE:
        actor_id, email = _domain_actor(instance)
        if actor_id is not None:
            values["actor_id"] = actor_id
            values["actor_email"] = email
    return values
