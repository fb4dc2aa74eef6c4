"""The authorization matrix: every URL pattern x every role -> the answer a secure Waypoint gives.

Used by tests/test_authz_matrix.py. Keys are URL names ("namespace:name"); a pattern without a
name is keyed by its full route string. Answers are short words so a redirect says where it goes:

    "200", "403", "404", "405", "410"   the status code
    "login"      302 to the portal login (/accounts/login/)
    "adm-login"  302 to the admin login (/admin/login/), which does not let this user in
    "otp"        302 to the second-factor step (directly, or through the admin login)
    "admin"      302 to the admin: its index (/admin/) or staff's home there (the worklist)
    "302"        another redirect (a token link's next step, the admin's id-only URLs...)

Objects in the URLs always belong to family A / center A (see test_authz_matrix.World).
"""

import re

from django.urls import URLPattern, URLResolver, get_resolver

ROLES = [
    "anonymous",
    "guardian_a",
    "guardian_b",
    "coordinator_a",
    "coordinator_b",
    "superuser",
    "staff_no_otp",  # coordinator A's password session that has not passed the second factor
]
SHORT = {
    "anonymous": "anon",
    "guardian_a": "g_A",
    "guardian_b": "g_B",
    "coordinator_a": "c_A",
    "coordinator_b": "c_B",
    "superuser": "su",
    "staff_no_otp": "no2FA",
}


# --- walking the resolver -------------------------------------------------------------------


def _walk(patterns, prefix="", namespace=None):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            ns = namespace
            if pattern.namespace:
                ns = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, route, ns)
        elif isinstance(pattern, URLPattern):
            if pattern.name:
                key = f"{namespace}:{pattern.name}" if namespace else pattern.name
            else:
                key = route
            yield key, route


def all_patterns():
    """{key: full route string} for every URL pattern Django resolves (admin included)."""
    found = {}
    for key, route in _walk(get_resolver().url_patterns):
        found.setdefault(key, route)
    return found


# --- building the expectations --------------------------------------------------------------


def row(anonymous, guardian_a, guardian_b, coordinator_a, coordinator_b, superuser, no_otp):
    return dict(zip(ROLES, [anonymous, guardian_a, guardian_b, coordinator_a, coordinator_b,
                            superuser, no_otp], strict=True))  # fmt: skip


def admin_page(coordinator_a, coordinator_b, superuser):
    """Any /admin/ page: outsiders to the admin login, a session without the code to the code."""
    return row(
        "adm-login", "adm-login", "adm-login", coordinator_a, coordinator_b, superuser, "otp"
    )


def everyone(answer):
    return row(*[answer] * len(ROLES))


# Child pages of the family portal (journey, notifications): staff are sent to the admin.
PORTAL_CHILD = row("login", "200", "404", "admin", "admin", "admin", "admin")
PORTAL_CHILD_POST_ONLY = row("login", "405", "405", "admin", "admin", "admin", "admin")
# Tracker child pages: login_required, then the child among the user's own children (404).
TRACKER_CHILD = row("login", "200", "404", "404", "404", "404", "404")
GET_ONLY_POST = everyone("405")  # @require_POST outermost: the method is refused first

# Admin answers per kind of model: (changelist, add, change, delete, history) per staff role.
OWN_CENTER = {"changelist": "200", "add": "200", "change": "200", "delete": "200", "history": "200"}
OTHER_CENTER = {
    "changelist": "200",
    "add": "200",
    "change": "404",
    "delete": "404",
    "history": "404",
}


def model_rows(app_model, coord_a, coord_b, superuser):
    """The five standard admin pages and the id-only redirect of one registered model."""
    app, model = app_model.split(".")
    rows = {}
    for page in ["changelist", "add", "change", "delete", "history"]:
        rows[f"admin:{app}_{model}_{page}"] = admin_page(
            coord_a[page], coord_b[page], superuser[page]
        )
    # "<id>/" redirects to "<id>/change/" for any admin user, without looking the object up.
    rows[f"admin/{app}/{model}/<path:object_id>/"] = admin_page("302", "302", "302")
    return rows


def pages(changelist, add, change, delete, history):
    return {"changelist": changelist, "add": add, "change": change, "delete": delete,
            "history": history}  # fmt: skip


# Admin answers per kind of model: (changelist, add, change, delete, history) per staff role.
ALL_200 = pages("200", "200", "200", "200", "200")
OTHER_CENTER = pages("200", "200", "404", "404", "404")
FORBIDDEN = pages("403", "403", "403", "403", "403")
# Catalogue: coordinators read, administrators edit.
CATALOGUE_COORD = pages("200", "403", "200", "403", "200")
# Rows changed only through services: no add, change or delete for anyone.
READ_ONLY_A = pages("200", "403", "200", "403", "200")
READ_ONLY_B = pages("200", "403", "404", "404", "404")
READ_ONLY_SU = pages("200", "403", "200", "403", "200")

MODELS = {}
# journey: scoped by center, coordinators may change and delete
for _m in ["journey.patient", "journey.guardian"]:
    MODELS.update(model_rows(_m, ALL_200, OTHER_CENTER, ALL_200))
# journeys are never deleted by coordinators (history must stay)
MODELS.update(model_rows("journey.journey", pages("200", "200", "200", "403", "200"),
                         pages("200", "200", "404", "404", "404"), ALL_200))  # fmt: skip
# centers: coordinators see their own center, only administrators change them
MODELS.update(model_rows("journey.center", pages("200", "403", "200", "403", "200"),
                         pages("200", "403", "404", "404", "404"), ALL_200))  # fmt: skip
for _m in ["journey.therapy", "journey.condition", "journey.findingtype",
           "journey.steptemplate", "tracker.labtest"]:  # fmt: skip
    MODELS.update(model_rows(_m, CATALOGUE_COORD, CATALOGUE_COORD, ALL_200))
# administrators only (people, logins, lockouts, second-factor devices)
for _m in ["journey.membership", "journey.user", "auth.group", "otp_static.staticdevice",
           "otp_totp.totpdevice"]:  # fmt: skip
    MODELS.update(model_rows(_m, FORBIDDEN, FORBIDDEN, ALL_200))
for _m in ["axes.accessattempt", "axes.accessfailurelog", "axes.accesslog"]:
    MODELS.update(model_rows(_m, FORBIDDEN, FORBIDDEN, pages("200", "403", "200", "200", "200")))
# the audit trail: superusers browse it; nobody adds, changes or deletes a record
MODELS.update(model_rows("audit.auditrecord", FORBIDDEN, FORBIDDEN, READ_ONLY_SU))
# tracker and notifications rows, scoped by center
for _m in ["tracker.scheduledlab", "tracker.labresult", "notifications.reminder"]:
    MODELS.update(model_rows(_m, READ_ONLY_A, READ_ONLY_B, READ_ONLY_SU))
# the worklist is a proxy of ScheduledLab: its object pages must be scoped like ScheduledLab's
MODELS.update(model_rows("tracker.worklist", READ_ONLY_A, READ_ONLY_B, READ_ONLY_SU))
MODELS.update(model_rows("tracker.monitoringplan", pages("200", "403", "200", "403", "200"),
                         pages("200", "403", "404", "404", "404"),
                         pages("200", "403", "200", "403", "200")))  # fmt: skip
# a center's local labs (where its families' draws happen): its coordinators keep the list
MODELS.update(model_rows("tracker.locallab", ALL_200, OTHER_CENTER, ALL_200))
# families' reports: the care team reads them and answers with a note; nobody adds or deletes
MODELS.update(model_rows("reports.symptomreport", READ_ONLY_A, READ_ONLY_B, READ_ONLY_SU))
# outside results the family sent: the care team checks them on a page of their own
MODELS.update(model_rows("reports.outsideresult", READ_ONLY_A, READ_ONLY_B, READ_ONLY_SU))
# family messages: the care team reads, replies, assigns and closes; nobody adds or deletes
MODELS.update(model_rows("conversations.thread", READ_ONLY_A, READ_ONLY_B, READ_ONLY_SU))
MODELS.update(model_rows("conversations.businesshours", ALL_200, OTHER_CENTER, ALL_200))
# text-message numbers and their history: changed only by the guardian and the provider
for _m in ["notifications.textnumber", "notifications.numberevent"]:
    MODELS.update(model_rows(_m, READ_ONLY_A, READ_ONLY_B, READ_ONLY_SU))
for _m in ["notifications.preference", "notifications.centernotificationsettings"]:
    MODELS.update(model_rows(_m, ALL_200, OTHER_CENTER, ALL_200))
# a center's eligibility policy: its coordinators switch rules, never delete a setting
MODELS.update(model_rows("journey.centercriterionsetting",
                         pages("200", "200", "200", "403", "200"),
                         pages("200", "200", "404", "404", "404"), ALL_200))  # fmt: skip
# a journey's prior authorization: added on the journey's page (never on its own), kept with
# its appeals on its own page; only administrators delete one
MODELS.update(model_rows("journey.priorauthorization", pages("200", "403", "200", "403", "200"),
                         pages("200", "403", "404", "404", "404"),
                         pages("200", "403", "200", "200", "200")))  # fmt: skip
# follow-up: "at risk" marks are made by the sweeps and resolved by an action; hand-overs are
# added through the service and never changed; the old center reads them (history)
MODELS.update(model_rows("journey.followuprisk", READ_ONLY_A, READ_ONLY_B, READ_ONLY_SU))
MODELS.update(model_rows("journey.centertransfer", pages("200", "200", "200", "403", "200"),
                         pages("200", "200", "404", "404", "404"),
                         pages("200", "200", "200", "403", "200")))  # fmt: skip
# staff changes: assignments kept by the center's coordinators; hand-overs are append-only
MODELS.update(model_rows("journey.careassignment", ALL_200, OTHER_CENTER, ALL_200))
MODELS.update(model_rows("journey.staffhandover", pages("200", "200", "200", "403", "200"),
                         pages("200", "200", "404", "404", "404"),
                         pages("200", "200", "200", "403", "200")))  # fmt: skip

# custody (issue 17): restrictions and adult guardianships are lifted or kept, never deleted;
# a center's age policy is its coordinators'; the age transitions are the sweep's, read only
CUSTODY_A = pages("200", "200", "200", "403", "200")
CUSTODY_SU = pages("200", "200", "200", "403", "200")
for _m in ["journey.guardianshiprestriction", "journey.adultguardianship"]:
    MODELS.update(model_rows(_m, CUSTODY_A, OTHER_CENTER, CUSTODY_SU))
MODELS.update(model_rows("journey.agepolicy", ALL_200, OTHER_CENTER, ALL_200))
MODELS.update(model_rows("journey.agetransition", READ_ONLY_A, READ_ONLY_B, READ_ONLY_SU))

# lab interfaces: lab systems are set up by administrators; coordinators keep the local codes
# and answer the unmatched results (change); the inbox is read-only to everyone.
MODELS.update(model_rows("interfaces.labsender", pages("200", "403", "200", "403", "200"),
                         pages("200", "403", "404", "404", "404"), ALL_200))  # fmt: skip
MODELS.update(model_rows("interfaces.localcode", ALL_200, OTHER_CENTER, ALL_200))
for _m in ["interfaces.inboundmessage", "interfaces.inboundresult"]:
    MODELS.update(model_rows(_m, READ_ONLY_A, READ_ONLY_B, READ_ONLY_SU))

SCOPED_OBJECT = admin_page("200", "404", "200")  # a custom page about one of center A's objects

MATRIX = {
    # --- the family portal -----------------------------------------------------------------
    "": everyone("302"),  # / -> /portal/
    "portal:home": row("login", "200", "200", "admin", "admin", "admin", "admin"),
    "portal:child": PORTAL_CHILD,
    "portal:people": PORTAL_CHILD,
    "portal:card": PORTAL_CHILD,
    "portal_tracker:plan": TRACKER_CHILD,
    "portal_tracker:labs": TRACKER_CHILD,
    "portal_tracker:calendar": TRACKER_CHILD,
    "portal_tracker:calendar_new": GET_ONLY_POST,
    "portal_tracker:calendar_revoke": GET_ONLY_POST,
    "portal_tracker:record": TRACKER_CHILD,
    "portal_tracker:record_fhir": TRACKER_CHILD,
    # the calendar feed has no login: the signed token of guardian A's feed is the key
    "portal_tracker:feed": everyone("200"),
    "portal_notifications:settings": PORTAL_CHILD,
    "portal_reports:new": PORTAL_CHILD,
    "portal_reports:sent": PORTAL_CHILD,  # family A's report, under family A's child
    "portal_reports:outside_new": PORTAL_CHILD,
    "portal_reports:outside_file": PORTAL_CHILD,  # family A's upload, under family A's child
    "portal_messages:list": PORTAL_CHILD,
    "portal_messages:new": PORTAL_CHILD,
    "portal_messages:thread": PORTAL_CHILD,  # family A's thread, under family A's child
    "portal_messages:file": PORTAL_CHILD,  # family A's attachment
    "portal_notifications:snooze": GET_ONLY_POST,
    "portal_notifications:unsnooze": GET_ONLY_POST,
    "portal_notifications:phone": GET_ONLY_POST,
    "portal_notifications:phone_confirm": GET_ONLY_POST,
    "portal_notifications:phone_resend": GET_ONLY_POST,
    "portal_notifications:phone_remove": GET_ONLY_POST,
    # the text provider's inbound webhook: POST signed with its auth token (403 otherwise)
    "sms:inbound": GET_ONLY_POST,
    # the List-Unsubscribe link (token = key); its own guardian is sent to the settings page
    "portal_notifications:unsubscribe": row("200", "302", "200", "200", "200", "200", "200"),
    # the contact check's emailed link (token = key): "still correct" without a login
    "portal:contact_check": everyone("200"),
    # operators: counts only, no patient data; /metrics from loopback (the test client's
    # address) or with the token (tests/test_notifications_health.py)
    "health": everyone("200"),
    "metrics": everyone("200"),
    # lab systems' FHIR results in: POST with an API token only (tests/test_interfaces_fhir.py)
    "fhir:observation": GET_ONLY_POST,
    "fhir:bundle": GET_ONLY_POST,
    # --- accounts ----------------------------------------------------------------------------
    "login": row("200", "302", "302", "admin", "admin", "admin", "admin"),  # staff: worklist
    "logout": everyone("405"),  # POST only
    # a staff password changes only after the second factor (issue 13 item 6)
    "password_change": row("login", "200", "200", "200", "200", "200", "otp"),
    "password_change_done": row("login", "200", "200", "200", "200", "200", "200"),
    "password_reset": everyone("200"),
    "password_reset_done": everyone("200"),
    "password_reset_confirm": everyone("302"),  # a valid link -> its set-password step
    "password_reset_complete": everyone("200"),
    "accept_invitation": everyone("200"),  # an open invitation for guardian C
    "two_factor:overview": row("login", "200", "200", "200", "200", "200", "200"),
    # set-up: someone with an app must first enter its code
    "two_factor:setup": row("login", "200", "200", "200", "200", "200", "otp"),
    # verify: a login without any device is sent to set one up
    "two_factor:verify": row("login", "302", "302", "200", "200", "200", "200"),
    "two_factor:backup_codes": GET_ONLY_POST,
    "two_factor:disable": GET_ONLY_POST,
    # --- the admin site ----------------------------------------------------------------------
    "admin:index": admin_page("200", "200", "200"),
    "admin:login": row("200", "200", "200", "admin", "admin", "admin", "otp"),
    "admin:logout": row("admin", "admin", "admin", "405", "405", "405", "admin"),
    "admin:password_change": admin_page("200", "200", "200"),
    "admin:password_change_done": admin_page("200", "200", "200"),
    "admin:jsi18n": admin_page("200", "200", "200"),
    "admin:autocomplete": admin_page("200", "200", "200"),  # scoped results: see leak check
    "admin:app_list": admin_page("200", "200", "200"),  # /admin/journey/
    "admin:view_on_site": admin_page("404", "404", "404"),  # Patient has no public URL
    "admin/(?P<url>.*)$": admin_page("404", "404", "404"),  # the catch-all
    **MODELS,
    # custom admin pages about one of center A's objects
    "admin:journey_guardian_portal_access": SCOPED_OBJECT,
    "admin:journey_patient_invite_young_person": SCOPED_OBJECT,
    "admin:journey_guardianshiprestriction_document": SCOPED_OBJECT,
    "admin:journey_adultguardianship_document": SCOPED_OBJECT,
    "admin:journey_journey_move_stage": SCOPED_OBJECT,
    "admin:journey_journey_infusion_date": SCOPED_OBJECT,
    "admin:journey_journey_eligibility": SCOPED_OBJECT,
    "admin:journey_journey_eligibility_result": SCOPED_OBJECT,
    "admin:tracker_enter_results": SCOPED_OBJECT,
    "admin:tracker_labresult_correct": SCOPED_OBJECT,
    "admin:tracker_labresult_error": SCOPED_OBJECT,
    "admin:tracker_labresult_note": SCOPED_OBJECT,
    "admin:tracker_draw_note": SCOPED_OBJECT,
    "admin:reports_outsideresult_file": SCOPED_OBJECT,
    "admin:conversations_thread_file": SCOPED_OBJECT,
    "admin:reports_outsideresult_check": SCOPED_OBJECT,
    "admin:tracker_plan_print": SCOPED_OBJECT,
    "admin:tracker_label_review": SCOPED_OBJECT,
    "admin:tracker_plan_site": SCOPED_OBJECT,
    "admin:tracker_draw_site": SCOPED_OBJECT,
    "admin:notifications_delivery_log": SCOPED_OBJECT,
    "admin:audit_patient_timeline": SCOPED_OBJECT,
    "admin:auth_user_password_change": admin_page("403", "403", "200"),
    "admin:tracker_worklist_csv": admin_page("200", "200", "200"),  # scoped rows: leak check
    "admin:tracker_follow_up_report": SCOPED_OBJECT,
    # a TOTP secret (config page and QR code) is shown to nobody, administrators included:
    # whoever reads it can pass that person's second factor
    "admin:otp_totp_totpdevice_config": admin_page("403", "403", "403"),
    "admin:otp_totp_totpdevice_qrcode": admin_page("403", "403", "403"),
}

# Issue 17: two more guardians of child A. One is view-only (reads; no settings, reports,
# invitations or messages: 403); a court order hides the child from the other ("no access"
# restriction: 404, as for a stranger's child). (view-only, restricted) for every portal URL.
CUSTODY_ROLES = ["guardian_view_only", "guardian_restricted"]
_READS, _ACTS, _POST = ("200", "404"), ("403", "404"), ("405", "405")
CUSTODY = {
    key: dict(zip(CUSTODY_ROLES, answers, strict=True))
    for key, answers in {
        "": ("302", "302"),
        "portal:home": ("200", "200"),
        "portal:child": _READS,
        "portal:people": _READS,
        "portal:card": _READS,
        "portal_tracker:plan": _READS,
        "portal_tracker:labs": _READS,
        "portal_tracker:calendar": _READS,
        "portal_tracker:calendar_new": _POST,
        "portal_tracker:calendar_revoke": _POST,
        "portal_tracker:record": _READS,
        "portal_tracker:record_fhir": _READS,
        "portal_tracker:feed": ("200", "200"),  # guardian A's own feed: the token is the key
        "portal_notifications:settings": _ACTS,
        "portal_notifications:snooze": _POST,
        "portal_notifications:unsnooze": _POST,
        "portal_notifications:unsubscribe": ("200", "200"),  # guardian A's token
        "portal_reports:new": _ACTS,
        "portal_reports:sent": _READS,
        "portal_reports:outside_new": _ACTS,
        "portal_reports:outside_file": _READS,
        "portal:contact_check": (
            "200",
            "200",
        ),  # guardian A's own signed link: the token is the key
        "portal_messages:list": _READS,
        "portal_messages:thread": _READS,
        "portal_messages:file": _READS,
        "portal_messages:new": _ACTS,  # view-only reads the threads but does not write
        "portal_notifications:phone": _POST,
        "portal_notifications:phone_confirm": _POST,
        "portal_notifications:phone_resend": _POST,
        "portal_notifications:phone_remove": _POST,
    }.items()
}

# Cells where Waypoint does not (yet) give the secure answer: (url key, role) -> the issue.
# Each is a strict xfail: when the hole is fixed the test fails until the entry is removed.
KNOWN_HOLES = {}

# Token links: whoever holds the token may open them, so the leak check does not apply.
TOKEN_URLS = {
    "portal:contact_check",
    "portal_tracker:feed",
    "portal_notifications:unsubscribe",
    "accept_invitation",
    "password_reset_confirm",
}


def route_model(route):
    """("journey", "patient") for "admin/journey/patient/...", else None."""
    match = re.match(r"admin/(\w+)/(\w+)/", route)
    return match.groups() if match else None
