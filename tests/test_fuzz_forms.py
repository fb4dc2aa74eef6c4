"""Bad input at scale: every form and admin add/change view answers below 500.

GIVEN a small world (a center, a coordinator, a superuser, a guardian with a child on a real
      Zolgensma plan with results, an open invitation, a password-reset link)
WHEN  hypothesis posts generated data to each target: long strings, unicode from odd planes,
      NUL, "null"/"None", huge and negative numbers, wrong types (JSON where a date goes),
      dates such as 0001-01-01, 9999-12-31 and 2026-02-30, mixed with well-typed values so the
      forms get past their first check
THEN  no response is a server error (status < 500) and no view raises.

Targets: the add view and the change view of an existing object of every ModelAdmin in
admin.site._registry (as the superuser, OTP-verified when the admin asks for it), the admin's
custom forms (result entry, a result's correction and entered in error, move stage, infusion
date, eligibility, portal access, worklist actions), and the portal/account forms (login,
password reset and its confirm page, invitation accept, password change, reminder settings and
snooze). Each request runs in a savepoint that is rolled back, so examples do not depend on each
other. derandomize=True: CI sees the same cases.
"""

import traceback
from collections import Counter

import pytest
from django.contrib import admin
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from journey.portal.invitations import invite
from tests import factories as f
from tests import factories_portal_tracker as fp
from tests.conftest import otp_login as staff_login
from tests.fuzz_values import discover, value_for
from tracker.models import LocalLab

pytestmark = pytest.mark.django_db
ADMIN_EXAMPLES = 15
# Inline management data (TOTAL/MIN/MAX_NUM_FORMS) is never fuzzed: a huge count makes Django
# build up to absolute_max (2,000) forms per request, ~15 s each, which says nothing new.
SLOW_ADMIN_EXAMPLES = {}
FORM_EXAMPLES = 30
COUNTS = Counter()
FAILED = Counter()

# ---------------------------------------------------------------- the world


@pytest.fixture
def world(center_a, coordinator_a, superuser, settings, tmp_path):
    settings.RATELIMIT_ENABLE = False  # the rate limits have their own tests
    settings.WAYPOINT_PRIVATE_MEDIA_ROOT = tmp_path  # custody documents, never in var/
    guardian = fp.guardian_with_login(center_a, "parent.fuzz@example.org")
    child, journey = fp.child_of(guardian, first_name="Maya", by=coordinator_a)
    f.DiagnosisFactory(patient=child)
    fp.record(journey, 7, [("ALT", "140", "U/L"), ("PLT", "250", "10^9/L")])
    invited = f.GuardianFactory(center=center_a, email="new.parent@example.org")
    f.GuardianshipFactory(patient=child, guardian=invited)
    _, token = invite(invited, by=coordinator_a)
    _axes_rows()
    _reminder_and_device_rows(center_a, guardian, child, coordinator_a)
    _lab_interface_rows(center_a)
    LocalLab.objects.create(center=center_a, name="Fuzz lab", address="1 Main St", phone="555")
    _custody_rows(center_a, child, invited, coordinator_a)
    _years_and_message_rows(center_a, guardian, child, journey, coordinator_a)
    return {
        "superuser": superuser,
        "coordinator": coordinator_a,
        "guardian": guardian,
        "child": child,
        "journey": journey,
        "invitation_token": token,
    }


def _custody_rows(center, child, guardian, coordinator):
    """A restriction, an adult guardianship, an age policy and an age step (issue 17)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from journey.custody import services
    from journey.models import AgeChange, AgePolicy, AgeStep, AgeTransition, Guardianship

    link = Guardianship.objects.get(patient=child, guardian=guardian)
    pdf = b"%PDF-1.4\n"
    services.restrict(
        link, kind="view_only", reason="fuzz", by=coordinator,
        document=SimpleUploadedFile("order.pdf", pdf),
    )  # fmt: skip
    services.record_adult_guardianship(
        link, reason="fuzz", by=coordinator, document=SimpleUploadedFile("order.pdf", pdf)
    )
    AgePolicy.objects.create(center=center, age_years=16, change=AgeChange.PARENTS_VIEW_ONLY)
    AgeTransition.objects.create(
        patient=child, change=AgeChange.TEEN_ASSENT, age_years=12, step=AgeStep.NOTICE_60,
        birthday=timezone.localdate(), at=timezone.now(),
    )  # fmt: skip


def _years_and_message_rows(center, guardian, child, journey, coordinator):
    """A message thread and its center's hours, an approval, a follow-up risk, a hand-over of
    another child, a care assignment and a staff hand-over (issues 16 and 17)."""
    from django.utils import timezone

    from conversations import services as conversations
    from conversations.models import BusinessHours
    from journey import followup, staffing
    from journey import models as jm

    BusinessHours.objects.get_or_create(center=center)
    conversations.start_thread(guardian, child, "Rash", "A rash since Monday", None)
    jm.PriorAuthorization.objects.create(journey=journey, status=jm.AuthorizationStatus.SUBMITTED)
    jm.FollowUpRisk.objects.create(
        patient=child, reason=jm.RiskReason.NO_ANSWER, marked_at=timezone.now()
    )
    moved = f.PatientFactory(center=center, first_name="Moved")
    followup.transfer_patient(moved, f.CenterFactory(), by=coordinator, reason="family moved")
    jm.CareAssignment.objects.create(patient=child, coordinator=coordinator)
    leaving = f.CoordinatorFactory(center=center)
    staffing.hand_over(leaving, coordinator, by=coordinator, reason="left")
    _text_number_rows(guardian)


def _text_number_rows(guardian):
    """A guardian's mobile number and one event of its history (issue 16)."""
    from django.utils import timezone

    from notifications.sms.models import NumberEvent, TextNumber

    TextNumber.objects.create(guardian=guardian, number="+12025550143")
    NumberEvent.objects.create(
        guardian=guardian, number="+12025550143", event=NumberEvent.Event.SET, at=timezone.now()
    )


def _axes_rows():
    """One row of each django-axes model, so their change views have an object."""
    try:
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    except ImportError:  # pragma: no cover
        return
    common = {"user_agent": "fuzz", "ip_address": "10.0.0.1", "username": "x@example.org"}
    AccessAttempt.objects.create(**common, get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**common)
    AccessFailureLog.objects.create(**common)


def _reminder_and_device_rows(center, guardian, child, coordinator):
    """One row of each remaining admin model, so every change view is fuzzed too."""
    from django.utils import timezone
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from notifications.models import CenterNotificationSettings, Kind, Preference, Reminder

    Preference.objects.get_or_create(guardian=guardian, patient=child)
    CenterNotificationSettings.objects.get_or_create(center=center)
    Reminder.objects.create(
        key=f"fuzz:{guardian.pk}:{child.pk}",
        kind=Kind.choices[0][0],
        guardian=guardian,
        center=center,
        patient=child,
        due_on=timezone.localdate(),
        send_at=timezone.now(),
        time_zone="UTC",
    )
    TOTPDevice.objects.create(user=coordinator, name="fuzz phone", confirmed=True)
    StaticDevice.objects.create(user=coordinator, name="fuzz backup codes", confirmed=True)
    _center_policy_row(center, coordinator)
    _family_report_row(guardian, child)
    _outside_result_row(guardian, child)


def _outside_result_row(guardian, child):
    """A typed outside result waiting for its check (no file: nothing written to disk)."""
    from reports import outside
    from reports.services import latest_journey
    from tracker.models import LabTest

    outside.submit_outside_result(
        guardian,
        latest_journey(child),
        test=LabTest.objects.get(code="ALT"),
        value="20",
        unit="U/L",
        collected_on=child.date_of_birth,
    )


def _family_report_row(guardian, child):
    """An open family report, so its change view (the care team's note) is fuzzed too."""
    from reports import services

    services.submit_report(guardian, child, None, [], "fuzz: a rash")


def _lab_interface_rows(center):
    """A lab system, a local code, a message and its results waiting in the unmatched queue."""
    from interfaces import processing
    from interfaces.inbox import receive_hl7
    from interfaces.models import LocalCode
    from tests.hl7_samples import liver, make_lab
    from tracker.models import LabTest

    lab = make_lab(center)
    LocalCode.objects.create(sender=lab, code="ALTL", test=LabTest.objects.get(code="ALT"))
    row, _answer = receive_hl7(liver(mrn="NOT-KNOWN"), "mllp")
    processing.process_message(row.pk)


def _center_policy_row(center, coordinator):
    """A center-policy setting, so its change view is fuzzed too."""
    from journey import services
    from journey.models import CriterionOrigin, EligibilityCriterion, Therapy

    rule = EligibilityCriterion.objects.create(
        therapy=Therapy.objects.get(slug="zolgensma"),
        code="fuzz-center-rule",
        kind="sex",
        label="Center rule",
        origin=CriterionOrigin.CENTER,
    )
    services.set_center_policy(center, rule, enabled=True, by=coordinator, reason="fuzz")


# ---------------------------------------------------------------- the targets

ADMIN_MODELS = sorted(
    (model._meta.app_label, model._meta.model_name) for model in admin.site._registry
)


def _admin_url(kind, label):
    app, model = label
    if kind == "add":
        return reverse(f"admin:{app}_{model}_add")
    model_class = next(m for m in admin.site._registry if m._meta.model_name == model)
    obj = model_class._default_manager.order_by("pk").first()
    assert obj is not None, f"the world holds no {app}.{model} to change: add one"
    return reverse(f"admin:{app}_{model}_change", args=[obj.pk])


def _reset_url(world):
    user = world["guardian"].user
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("password_reset_confirm", args=[uid, default_token_generator.make_token(user)])


def _custom(name, world):
    """(url, who, extra forms, prepare) for a custom target."""
    journey, child = world["journey"], world["child"]
    from tracker.forms import ReasonForm

    table = {
        "login": (reverse("login"), None, (), None),
        "password_reset": (reverse("password_reset"), None, (), None),
        "password_reset_confirm": (_reset_url(world), None, (), "follow"),
        "invitation_accept": (
            reverse("accept_invitation", args=[world["invitation_token"]]),
            None,
            (),
            None,
        ),
        "password_change": (reverse("password_change"), "guardian", (), None),
        "reminder_settings": (
            reverse("portal_notifications:settings", args=[child.public_id]),
            "guardian",
            (),
            None,
        ),
        "reminder_snooze": (
            reverse("portal_notifications:snooze", args=[child.public_id]),
            "guardian",
            _snooze_form(),
            None,
        ),
        "enter_results": (
            reverse("admin:tracker_enter_results", args=[journey.pk]),
            "superuser",
            (),
            None,
        ),
        "move_stage": (
            reverse("admin:journey_journey_move_stage", args=[journey.pk]),
            "superuser",
            (),
            None,
        ),
        "infusion_date": (
            reverse("admin:journey_journey_infusion_date", args=[journey.pk]),
            "superuser",
            (),
            None,
        ),
        "eligibility": (
            reverse("admin:journey_journey_eligibility", args=[journey.pk]),
            "superuser",
            (),
            None,
        ),
        "portal_access": (
            reverse("admin:journey_guardian_portal_access", args=[world["guardian"].pk]),
            "superuser",
            (),
            None,
        ),
        "worklist_actions": (
            reverse("admin:tracker_worklist_changelist"),
            "coordinator",
            (ReasonForm(),),
            None,
        ),
        "worklist_csv_get": (reverse("admin:tracker_worklist_csv"), "coordinator", (), "get"),
    }
    if name.startswith("outside_"):  # the family's form, and the care team's check page
        from reports.models import OutsideResult

        if name == "outside_new":
            url = reverse("portal_reports:outside_new", args=[child.public_id])
            return url, "guardian", (), None
        report = OutsideResult.objects.order_by("pk").first()
        return (
            reverse("admin:reports_outsideresult_check", args=[report.pk]),
            "coordinator",
            (),
            None,
        )
    if name.startswith("result_"):  # a current result of the child: correct it, or withdraw it
        from tracker.models import LabResult

        result = LabResult.objects.current().filter(journey=journey).order_by("pk").first()
        action = name.removeprefix("result_")
        return (
            reverse(f"admin:tracker_labresult_{action}", args=[result.pk]),
            "coordinator",
            (),
            None,
        )
    return table[name]


def _snooze_form():
    try:
        from notifications.forms import SnoozeForm
    except ImportError:  # pragma: no cover
        return ()
    return (SnoozeForm(),)


CUSTOM = [
    "login",
    "password_reset",
    "password_reset_confirm",
    "invitation_accept",
    "password_change",
    "reminder_settings",
    "reminder_snooze",
    "enter_results",
    "move_stage",
    "infusion_date",
    "eligibility",
    "portal_access",
    "worklist_actions",
    "worklist_csv_get",
    "result_correct",
    "result_error",
    "outside_new",
    "outside_check",
]


def _login_as(client, world, who):
    if who is None:
        return
    user = world[who]
    user = getattr(user, "user", None) or user  # a Guardian logs in as its User
    if user.is_staff:
        staff_login(client, user)
    else:
        client.force_login(user)


# ---------------------------------------------------------------- the run


def _send(client, url, data, mode):
    """One request inside a rolled-back savepoint; a raised exception counts as a 500."""
    try:
        with transaction.atomic():
            if mode == "get":
                response = client.get(url, {k: v for k, v in data.items() if "\x00" not in k})
            else:
                target = url
                if mode == "follow":  # the reset link moves its token into the session first
                    target = client.get(url).get("Location") or url
                response = client.post(target, data)
            transaction.set_rollback(True)
    except Exception:  # noqa: BLE001 - any escape is the finding we look for
        return 500, traceback.format_exc()
    return response.status_code, ""


def fuzz(client, target, url, fixed, fields, mode, examples):
    @hsettings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        # No shrinking: it costs minutes per finding; the message lists the payload instead.
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def run(data):
        payload = dict(fixed)
        for names, field in fields:
            if data.draw(st.integers(0, 9), label="omit") == 0:
                continue  # a missing field ("null")
            value = data.draw(value_for(field), label=names[0])
            values = value if isinstance(value, list) else [value] * len(names)
            for name, item in zip(names, values, strict=False):
                payload[name] = item
        COUNTS[target] += 1
        status, trace = _send(client, url, payload, mode)
        FAILED[target] += status >= 500
        assert status < 500, f"{target}: {status} at {url}\npayload={_short(payload)}\n{trace}"

    run()


def _short(payload):
    return {k: (v[:80] + f"...({len(v)} chars)" if len(v) > 80 else v) for k, v in payload.items()}


def _report(target):
    print(f"fuzz: {target}: {COUNTS[target]} cases, {FAILED[target]} server errors")


@pytest.mark.parametrize("kind", ["add", "change"])
@pytest.mark.parametrize("label", ADMIN_MODELS, ids=lambda label: ".".join(label))
def test_admin_views_survive_bad_input(client, world, kind, label):
    url = _admin_url(kind, label)
    staff_login(client, world["superuser"])
    fixed, fields = discover(client, url)
    target = f"admin-{kind}:{'.'.join(label)}"
    examples = SLOW_ADMIN_EXAMPLES.get(".".join(label), ADMIN_EXAMPLES)
    fuzz(client, target, url, fixed, fields, "post", examples)
    _report(target)


@pytest.mark.parametrize("name", CUSTOM)
def test_custom_forms_survive_bad_input(client, world, name):
    url, who, extra, mode = _custom(name, world)
    _login_as(client, world, who)
    page = client.get(url).get("Location") if mode == "follow" else url
    fixed, fields = discover(client, page or url, extra)
    target = f"form:{name}"
    fuzz(client, target, url, fixed, fields, mode or "post", FORM_EXAMPLES)
    _report(target)


@pytest.fixture(scope="module", autouse=True)
def _total():
    yield
    if COUNTS:
        total, failed = sum(COUNTS.values()), sum(FAILED.values())
        print(f"\nfuzz: {len(COUNTS)} targets, {total} cases, {failed} server errors")


@pytest.mark.parametrize(
    ("name", "payload"),
    [("journey_journey_add", {"patient": ":"}), ("journey_membership_add", {"user": str(2**70)})],
)
def test_malformed_autocomplete_value_is_a_form_error(client, world, name, payload):
    """Found by the fuzzing: POST /admin/journey/journey/add/ with patient=":" raised
    ValueError while the invalid form was re-rendered (Django's AutocompleteMixin.optgroups
    filters by the raw value; 2**70 overflowed on SQLite). journey.admin.widgets keeps such
    values out of the look-up, so the form answers with the field's own message.
    """
    staff_login(client, world["superuser"])
    status, trace = _send(client, reverse(f"admin:{name}"), payload, "post")
    assert status == 200, trace
