"""Issue 6 item 3: every URL pattern x every role gets the answer a secure system gives.

GIVEN family A (guardian A, child A) and family B at center A, coordinators of center A and
      center B, a superuser, and coordinator A's password-only session (no second factor)
WHEN  each of them GETs every URL Django resolves (portal, accounts, two-factor, feeds, the
      admin site and every registered ModelAdmin, custom admin pages), objects of family A
THEN  the answer is the matrix's (tests/authz_matrix.py): another family's child 404, another
      center's object 404, the admin only for staff who passed the second factor, ...; no 200
      page shown to guardian B or coordinator B names child A; a URL pattern missing from the
      matrix, or a matrix key no URL has, fails. POST rows check that outsiders change nothing.

`pytest tests/test_authz_matrix.py -s` prints the table; AUTHZ_MATRIX_DOC=1 also rewrites it in
docs/authorization.md.
"""

import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.test import TestCase, override_settings
from django.urls import reverse

from journey import models as jm
from notifications import models as nm
from tests import authz_matrix as am
from tests.authz_world import SECRETS, World
from tracker import calendar
from tracker import models as tm

# --- module-wide data and one logged-in client per role -----------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once; every test runs in a savepoint inside this module's transaction."""
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    files = tempfile.TemporaryDirectory()  # family A's upload, never in the worktree's var/
    private = override_settings(WAYPOINT_PRIVATE_MEDIA_ROOT=files.name)
    with django_db_blocker.unblock(), fast, private, files:
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield World()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


OBSERVED = {}  # (key, role) -> answer, for the printed table


def classify(response, client):
    """The answer in the matrix's words."""
    status = response.status_code
    if status not in (301, 302, 303, 307, 308):
        return str(status)
    target = urlsplit(response["Location"]).path
    if target.startswith("/accounts/two-factor/verify/"):
        return "otp"
    if target == reverse("login"):
        return "login"
    if target == reverse("admin:login"):
        # staff without the code are sent on from the admin login to the second-factor step
        follow = client.get(response["Location"])
        if follow.status_code == 302 and urlsplit(follow["Location"]).path.startswith(
            "/accounts/two-factor/"
        ):
            return "otp"
        return "adm-login"
    if target in (reverse("admin:index"), reverse("admin:tracker_worklist_changelist")):
        return "admin"  # the admin's index, or staff's home in it: the worklist
    return "302"


def _cells():
    cells = []
    for key, expected in am.MATRIX.items():
        for role in am.ROLES:
            marks = []
            hole = am.KNOWN_HOLES.get((key, role))
            if hole:
                marks.append(pytest.mark.xfail(strict=True, reason=hole))
            cells.append(pytest.param(key, role, expected[role], id=f"{key}|{role}", marks=marks))
    return cells


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "role", "expected"), _cells())
def test_cell(world, key, role, expected):
    route = am.all_patterns().get(key)
    if route is None:
        pytest.fail(f"{key} is in the authorization matrix but no URL pattern has it: remove it")
    client = world.clients[role]
    url = world.url_for(key, route)
    response = client.get(url)
    answer = classify(response, client)
    OBSERVED[(key, role)] = answer
    if role in {"guardian_b", "coordinator_b"} and key not in am.TOKEN_URLS:
        body = response.content.decode(errors="replace") if response.status_code == 200 else ""
        leaked = [word for word in SECRETS if word in body]
        assert not leaked, f"GET {url} as {role} shows family A's {leaked}"
    assert answer == expected, f"GET {url} as {role}: {answer} (status {response.status_code})"


def test_every_url_pattern_is_in_the_matrix():
    patterns = am.all_patterns()
    missing = sorted(set(patterns) - set(am.MATRIX))
    stale = sorted(set(am.MATRIX) - set(patterns))
    problems = [f"add {key} ({patterns[key]}) to the authorization matrix" for key in missing]
    problems += [f"{key} is in the matrix but no URL pattern has it" for key in stale]
    assert not problems, "\n".join(problems)


def test_every_cell_has_every_role():
    incomplete = [key for key, row in am.MATRIX.items() if set(row) != set(am.ROLES)]
    assert not incomplete


def test_every_admin_url_needs_the_second_factor():
    """An unverified staff session reaches no admin page but the login (which sends it on).

    Reads the matrix only (its cells are checked by test_cell): no database, no `world`, so
    pytest-django may run it last, after transactional tests have flushed the catalogue."""
    admin_keys = [k for k, r in am.all_patterns().items() if r.startswith("admin/")]
    assert len(admin_keys) > 150
    let_in = [k for k in admin_keys if am.MATRIX[k]["staff_no_otp"] not in {"otp", "admin"}]
    assert not let_in


# --- POST: outsiders change nothing -------------------------------------------------------


def _feed_live(w):
    return calendar.active_feed(w.guardian_a, w.child_a) == w.feed_a


def _pref(w):
    p = nm.Preference.objects.get(pk=w.preference_a.pk)
    return (p.lab_reminders, p.snoozed_until, p.lead_days, p.local_hour)


def _stage(w):
    j = jm.Journey.objects.get(pk=w.journey_a.pk)
    return (j.stage, j.infusion_date)


def _guardian_access(w):
    w.guardian_a.user.refresh_from_db()
    return (w.guardian_a.user.is_active, jm.Invitation.objects.filter(
        guardian=w.guardian_a).count())  # fmt: skip


def _reviewed(w):
    return tm.LabResult.objects.get(pk=w.result_a.pk).reviewed_at


def _patient(w):
    p = jm.Patient.objects.get(pk=w.child_a.pk)
    return (p.first_name, p.last_name)


def _results(w):
    return tm.LabResult.objects.filter(journey=w.journey_a).count()


def _counting(w):
    return tm.LabResult.objects.current().filter(pk=w.result_a.pk).exists()


def _inbox(w):
    from interfaces.models import InboundMessage

    return InboundMessage.objects.count()


def _checks(w):
    return jm.EligibilityCheck.objects.filter(journey=w.journey_a).count()


def _backup_codes(w):
    return sorted(w.static_device_a.token_set.values_list("token", flat=True))


def _plan_lab(w):
    return tm.MonitoringPlan.objects.get(pk=w.plan_a.pk).default_lab_id


def _draw_sites(w):
    return tm.DrawSiteChange.objects.filter(journey=w.journey_a).count()


def _text_numbers(w):
    from notifications.sms.models import TextNumber

    return list(TextNumber.objects.values_list("guardian_id", "number", "status"))


def _custody_state(w):
    """What a view-only or hidden guardian of child A might try to change."""
    from reports.models import SymptomReport

    return (
        nm.Preference.objects.filter(patient=w.child_a).count(),
        calendar.active_feed(w.guardian_view, w.child_a),
        calendar.active_feed(w.guardian_hidden, w.child_a),
        SymptomReport.objects.filter(patient=w.child_a).count(),
    )


CUSTODY_POST = {"guardian_view_only": "403", "guardian_restricted": "404"}


def _child(name):
    return lambda w: reverse(name, args=[w.child_a.public_id])


def _obj(name, attr):
    return lambda w: reverse(name, args=[getattr(w, attr).pk])


# (name, url(world), data(world), state(world), {role: expected answer}); the owner's row
# proves the POST does change the state, so "nothing changed" for the others means something.
POSTS = [
    ("calendar_revoke", _child("portal_tracker:calendar_revoke"),
     lambda w: {}, _feed_live,
     {"anonymous": "login", "guardian_b": "404", "coordinator_b": "404", "guardian_a": "302"}),
    ("calendar_new", _child("portal_tracker:calendar_new"),
     lambda w: {}, _feed_live,
     {"anonymous": "login", "guardian_b": "404", "coordinator_a": "404", "guardian_a": "302"}),
    ("reminder_settings", _child("portal_notifications:settings"),
     lambda w: {"time_zone": "America/New_York", "lead_days": "2", "local_hour": "7"}, _pref,
     {"anonymous": "login", "guardian_b": "404", "coordinator_b": "admin", "guardian_a": "302"}),
    ("snooze", _child("portal_notifications:snooze"),
     lambda w: {"days": "3"}, _pref,
     {"anonymous": "login", "guardian_b": "404", "coordinator_b": "admin", "guardian_a": "302"}),
    ("text_number", _child("portal_notifications:phone"),
     lambda w: {"number": "+16175550100"}, _text_numbers,
     {"anonymous": "login", "guardian_b": "404", "coordinator_b": "admin", "guardian_a": "302"}),
    # unsigned: refused whoever is logged in
    ("sms_inbound", lambda w: reverse("sms:inbound"),
     lambda w: {"From": "+16175550100", "Body": "STOP"}, _text_numbers,
     {"anonymous": "403", "guardian_a": "403", "coordinator_a": "403"}),
    ("worklist_review", lambda w: reverse("admin:tracker_worklist_changelist"),
     lambda w: {"action": "review", "target": str(w.result_a.public_id), "note": "seen"}, _reviewed,
     {"guardian_b": "adm-login", "coordinator_b": "404", "staff_no_otp": "otp",
      "coordinator_a": "admin"}),  # back to the worklist
    ("move_stage", _obj("admin:journey_journey_move_stage", "journey_a"),
     lambda w: {"to_stage": "withdrawn", "reason": "x", "override_reason": "x"}, _stage,
     {"guardian_a": "adm-login", "coordinator_b": "404", "staff_no_otp": "otp",
      "coordinator_a": "302"}),
    ("infusion_date", _obj("admin:journey_journey_infusion_date", "journey_a"),
     lambda w: {"infusion_date": "2026-02-01", "reason": "moved"}, _stage,
     {"coordinator_b": "404", "staff_no_otp": "otp", "coordinator_a": "302"}),
    ("run_eligibility", _obj("admin:journey_journey_eligibility", "journey_a"),
     lambda w: {}, _checks,
     {"coordinator_b": "404", "staff_no_otp": "otp", "coordinator_a": "302"}),
    ("enter_results", _obj("admin:tracker_enter_results", "journey_a"),
     lambda w: {"collected_at_0": "2026-01-20", "collected_at_1": "10:00", "ALT": "30"}, _results,
     {"coordinator_b": "404", "guardian_a": "adm-login"}),
    ("result_correct", _obj("admin:tracker_labresult_correct", "result_a"),
     lambda w: {"value": "31", "unit": "U/L", "reason": "typo"}, _counting,
     {"coordinator_b": "404", "guardian_a": "adm-login", "staff_no_otp": "otp",
      "coordinator_a": "302"}),
    ("result_error", _obj("admin:tracker_labresult_error", "result_a"),
     lambda w: {"reason": "wrong child"}, _counting,
     {"coordinator_b": "404", "guardian_b": "adm-login", "staff_no_otp": "otp",
      "coordinator_a": "302"}),
    ("plan_site", _obj("admin:tracker_plan_site", "plan_a"),
     lambda w: {"local_lab": w.local_lab_a.pk, "result_sender": "fax_portal"}, _plan_lab,
     {"coordinator_b": "404", "guardian_a": "adm-login", "staff_no_otp": "otp",
      "coordinator_a": "302"}),
    ("draw_site", lambda w: reverse("admin:tracker_draw_site", args=[w.lab_a.public_id]),
     lambda w: {"site": "center", "reason": "closer to home"}, _draw_sites,
     {"coordinator_b": "404", "guardian_a": "adm-login", "staff_no_otp": "otp",
      "coordinator_a": "302"}),
    ("portal_access_revoke", _obj("admin:journey_guardian_portal_access", "guardian_a"),
     lambda w: {"do": "revoke_access"}, _guardian_access,
     {"coordinator_b": "404", "guardian_b": "adm-login", "staff_no_otp": "otp",
      "coordinator_a": "302"}),
    ("guardian_bulk_revoke", lambda w: reverse("admin:journey_guardian_changelist"),
     lambda w: {"action": "revoke_portal_access", "_selected_action": [str(w.guardian_a.pk)],
                "index": "0"}, _guardian_access,
     {"coordinator_b": "302", "staff_no_otp": "otp", "coordinator_a": "302"}),
    ("patient_change", _obj("admin:journey_patient_change", "child_a"),
     lambda w: {"first_name": "Changed", "last_name": "Changed"}, _patient,
     {"coordinator_b": "404", "guardian_a": "adm-login", "staff_no_otp": "otp"}),
    ("patient_delete", _obj("admin:journey_patient_delete", "child_a"),
     lambda w: {"post": "yes"}, _patient,
     {"coordinator_b": "404", "guardian_a": "adm-login", "staff_no_otp": "otp"}),
    # issue 17: a view-only guardian may not act (403); a hidden one does not see the child
    ("custody_settings", _child("portal_notifications:settings"),
     lambda w: {"time_zone": "UTC", "lead_days": "2", "local_hour": "7"}, _custody_state,
     CUSTODY_POST),
    ("custody_snooze", _child("portal_notifications:snooze"), lambda w: {"days": "3"},
     _custody_state, CUSTODY_POST),
    ("custody_calendar_new", _child("portal_tracker:calendar_new"), lambda w: {},
     _custody_state, CUSTODY_POST),
    ("custody_report", _child("portal_reports:new"), lambda w: {"text": "a rash"},
     _custody_state, CUSTODY_POST),
    ("backup_codes_renew", lambda w: reverse("two_factor:backup_codes"),
     lambda w: {}, _backup_codes, {"staff_no_otp": "403"}),
    # the FHIR endpoints take a lab system's API token, never a session: no token, 401
    ("fhir_observation", lambda w: reverse("fhir:observation"), lambda w: {}, _inbox,
     {"anonymous": "401", "coordinator_a": "401", "superuser": "401"}),
    ("fhir_bundle", lambda w: reverse("fhir:bundle"), lambda w: {}, _inbox,
     {"guardian_a": "401", "coordinator_a": "401", "superuser": "401"}),
]  # fmt: skip

# Where the owner's POST is expected to change the state (the others must not).
CHANGES = {("calendar_revoke", "guardian_a"), ("calendar_new", "guardian_a"),
           ("reminder_settings", "guardian_a"), ("snooze", "guardian_a"),
           ("text_number", "guardian_a"),
           ("worklist_review", "coordinator_a"), ("move_stage", "coordinator_a"),
           ("infusion_date", "coordinator_a"), ("run_eligibility", "coordinator_a"),
           ("result_correct", "coordinator_a"), ("result_error", "coordinator_a"),
           ("portal_access_revoke", "coordinator_a"), ("plan_site", "coordinator_a"),
           ("draw_site", "coordinator_a"), ("guardian_bulk_revoke", "coordinator_a")}  # fmt: skip


def _post_cells():
    cells = []
    for name, url, data, state, expected in POSTS:
        for role, answer in expected.items():
            cells.append(pytest.param(url, data, state, role, answer, (name, role) in CHANGES,
                                      id=f"POST {name}|{role}"))  # fmt: skip
    return cells


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "data", "state", "role", "expected", "changes"), _post_cells())
def test_post(world, url, data, state, role, expected, changes):
    before = state(world)
    client = world.clients[role]
    with TestCase.captureOnCommitCallbacks(execute=False):
        response = client.post(url(world), data(world))
    answer = classify(response, client)
    OBSERVED[(f"POST {url(world)}", role)] = answer
    assert answer == expected, f"POST {url(world)} as {role}: {answer}"
    if changes:
        assert state(world) != before, "the owner's POST should have changed something"
    else:
        assert state(world) == before, f"POST {url(world)} as {role} changed family A's data"


# --- custody: a view-only guardian and a hidden one (issue 17) ----------------------------


def _custody_cells():
    return [
        pytest.param(key, role, answer, id=f"{key}|{role}")
        for key, answers in am.CUSTODY.items()
        for role, answer in answers.items()
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "role", "expected"), _custody_cells())
def test_custody_cell(world, key, role, expected):
    client = world.clients[role]
    url = world.url_for(key, am.all_patterns()[key])
    response = client.get(url)
    answer = classify(response, client)
    if role == "guardian_restricted" and key not in am.TOKEN_URLS:
        body = response.content.decode(errors="replace") if response.status_code == 200 else ""
        leaked = [word for word in SECRETS if word in body]
        assert not leaked, f"GET {url} as the hidden guardian shows {leaked}"
    assert answer == expected, f"GET {url} as {role}: {answer} (status {response.status_code})"


def test_every_portal_url_has_its_custody_answers():
    portal = {key for key in am.MATRIX if key.startswith("portal") or key == ""}
    assert portal == set(am.CUSTODY)


# --- the table ------------------------------------------------------------------------------


def table(cells=None):
    """The matrix as a Markdown table (expected answers; "!" marks a known hole)."""
    head = "| URL | " + " | ".join(am.SHORT[r] for r in am.ROLES) + " |"
    lines = [head, "|" + "---|" * (len(am.ROLES) + 1)]
    for key in sorted(am.MATRIX):
        row = am.MATRIX[key]
        marks = []
        for role in am.ROLES:
            word = row[role]
            if (key, role) in am.KNOWN_HOLES:
                seen = OBSERVED.get((key, role), "?")
                word = f"**{seen}!** (want {word})"
            marks.append(word)
        lines.append(f"| `{key}` | " + " | ".join(marks) + " |")
    return "\n".join(lines)


@pytest.fixture(scope="module", autouse=True)
def _print_table():
    yield
    if not OBSERVED:
        return
    text = table()
    print("\n\nAuthorization matrix (expected answers; ! = known hole, actual first)\n")
    print(text)
    cells = sum(1 for k in OBSERVED if not k[0].startswith("POST "))
    print(f"\n{len(am.MATRIX)} URL patterns, {cells} GET cells, "
          f"{len(OBSERVED) - cells} POST cells checked")  # fmt: skip
    if os.environ.get("AUTHZ_MATRIX_DOC"):
        doc = Path(__file__).resolve().parent.parent / "docs" / "authorization.md"
        content = doc.read_text()
        start, end = "<!-- matrix:start -->", "<!-- matrix:end -->"
        before, rest = content.split(start)
        after = rest.split(end)[1]
        doc.write_text(f"{before}{start}\n{text}\n{end}{after}")
