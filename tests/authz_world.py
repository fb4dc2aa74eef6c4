"""The personas and family A's objects of tests/test_authz_matrix.py, and each URL filled in."""

import datetime as dt
import re

from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from conversations import services as conversation_services
from conversations.models import BusinessHours
from journey import followup, staffing
from journey import models as jm
from journey import services as journey_services
from journey.custody import services as custody
from journey.portal import invitations
from notifications import models as nm
from reports import outside
from reports import services as report_services
from tests import authz_matrix as am
from tests import factories as f
from tests import factories_portal_tracker as fpt
from tests.conftest import otp_login
from tracker import calendar
from tracker import models as tm

# Words that name family A: no 200 page for guardian B or coordinator B may contain them.
SECRETS = ["Amaryllis", "Quenby", "MRN-QZ-4711"]


class World:
    """The personas and family A's objects, built once for the module."""

    def __init__(self):
        self.center_a = f.CenterFactory(name="Center A")
        self.center_b = f.CenterFactory(name="Center B", time_zone="Europe/London")
        self.coordinator_a = f.CoordinatorFactory(email="coord.a@example.org", center=self.center_a)
        self.coordinator_b = f.CoordinatorFactory(email="coord.b@example.org", center=self.center_b)
        self.superuser = f.UserFactory(email="root@example.org", is_staff=True, is_superuser=True)

        self.guardian_a = fpt.guardian_with_login(
            self.center_a, "ana.quenby@example.org", full_name="Ana Quenby"
        )
        self.child_a, self.journey_a = fpt.child_of(
            self.guardian_a, first_name="Amaryllis", by=self.coordinator_a
        )
        jm.Patient.objects.filter(pk=self.child_a.pk).update(
            last_name="Quenby", medical_record_number="MRN-QZ-4711"
        )
        self.child_a.refresh_from_db()
        # Family B at the same center: the center grants a family nothing.
        self.guardian_b = fpt.guardian_with_login(self.center_a, "ben@example.org")
        self.child_b, self.journey_b = fpt.child_of(self.guardian_b, first_name="Leo")

        self.result_a = fpt.record(self.journey_a, 7, fpt.LIVER)[0]
        self.plan_a = tm.MonitoringPlan.objects.get(journey=self.journey_a)
        self.review_a = tm.PlanReview.objects.create(
            plan=self.plan_a,
            journey=self.journey_a,
            therapy=self.plan_a.therapy,
            label_as_of=self.plan_a.label_as_of,
            proposed_schedule=self.plan_a.schedule,
            proposed_ltfu_years=self.plan_a.ltfu_years,
            proposed_digest=self.plan_a.schedule_digest,
        )
        self.lab_a = tm.ScheduledLab.objects.filter(journey=self.journey_a).order_by("pk").first()
        self.local_lab_a = tm.LocalLab.objects.create(
            center=self.center_a, name="Elm Street Lab", address="12 Elm St", phone="555-0100"
        )
        self.check_a = journey_services.run_eligibility(self.journey_a, by=self.coordinator_a)
        self.preference_a = nm.Preference.objects.create(
            guardian=self.guardian_a, patient=self.child_a
        )
        self.center_settings_a = nm.CenterNotificationSettings.objects.create(center=self.center_a)
        self.text_number_a = nm.TextNumber.objects.create(
            guardian=self.guardian_a, number="+12025550143", status=nm.NumberStatus.ACTIVE,
            confirmed_at=timezone.now(),
        )  # fmt: skip
        self.number_event_a = nm.NumberEvent.objects.create(
            guardian=self.guardian_a, number="+12025550143", event="confirmed", at=timezone.now()
        )
        self.center_policy_a = journey_services.set_center_policy(
            self.center_a,
            jm.EligibilityCriterion.objects.create(
                therapy=self.journey_a.therapy, code="authz-center", kind="sex", label="x",
                origin=jm.CriterionOrigin.CENTER,
            ),
            enabled=True, by=self.coordinator_a, reason="board decision",
        )  # fmt: skip
        self.reminder_a = nm.Reminder.objects.filter(patient=self.child_a).first() or (
            nm.Reminder.objects.create(
                key=f"g{self.guardian_a.pk}:stage_changed:authz:2026-01-05",
                kind=nm.Kind.STAGE_CHANGED,
                guardian=self.guardian_a,
                center=self.center_a,
                patient=self.child_a,
                journey=self.journey_a,
                due_on=dt.date(2026, 1, 5),
                send_at=timezone.now(),
                time_zone="America/New_York",
            )
        )
        self.report_a = report_services.submit_report(
            self.guardian_a, self.child_a, self.journey_a, [], "Amaryllis has a rash"
        )
        self.outside_a = outside.submit_outside_result(
            self.guardian_a, self.journey_a, upload=SimpleUploadedFile("lab.pdf", b"%PDF-1.4\n")
        )
        self.thread_a = conversation_services.start_thread(
            self.guardian_a,
            self.child_a,
            "Rash",
            "Amaryllis has a rash",
            upload=SimpleUploadedFile("rash.pdf", b"%PDF-1.4\n"),
        )
        self.message_a = self.thread_a.messages.get()
        self.hours_a = BusinessHours.objects.create(center=self.center_a)
        self.feed_a = calendar.new_feed(self.guardian_a, self.child_a)
        self.unsubscribe_token = signing.dumps(
            {"g": str(self.guardian_a.public_id), "p": str(self.child_a.public_id)},
            salt=_preferences_salt(),
        )
        guardian_c = f.GuardianFactory(center=self.center_a, email="cleo@example.org")
        self.invitation_token = invitations.invite(guardian_c, by=self.coordinator_a)[1]

        self._custody_rows()
        self.clients = {role: Client() for role in am.ROLES + am.CUSTODY_ROLES}
        self.clients["guardian_view_only"].force_login(self.guardian_view.user)
        self.clients["guardian_restricted"].force_login(self.guardian_hidden.user)
        self.clients["guardian_a"].force_login(self.guardian_a.user)
        self.clients["guardian_b"].force_login(self.guardian_b.user)
        self.devices = {}
        for role in ["coordinator_a", "coordinator_b", "superuser"]:
            self.devices[role] = otp_login(self.clients[role], getattr(self, role))
        self.clients["staff_no_otp"].force_login(self.coordinator_a)
        self.static_device_a = self.coordinator_a.staticdevice_set.create(name="Backup codes")

        from axes.models import AccessAttempt, AccessFailureLog, AccessLog

        where = {"user_agent": "t", "ip_address": "203.0.113.7", "http_accept": "*/*"}
        attempt = AccessAttempt.objects.create(
            username="coord.a@example.org", path_info="/accounts/login/", get_data="",
            post_data="", failures_since_start=1, **where,
        )  # fmt: skip
        failure = AccessFailureLog.objects.create(
            username="coord.a@example.org", path_info="/accounts/login/", **where
        )
        log = AccessLog.objects.create(
            username="coord.a@example.org", path_info="/accounts/login/", **where
        )
        from audit.models import AuditRecord

        lab_system, local_code, message, inbound = _lab_interface_rows(self.center_a)
        self.objects = {
            ("journey", "patient"): self.child_a,
            ("journey", "guardian"): self.guardian_a,
            ("journey", "journey"): self.journey_a,
            ("journey", "center"): self.center_a,
            ("journey", "therapy"): self.journey_a.therapy,
            ("journey", "condition"): jm.Condition.objects.order_by("pk").first(),
            ("journey", "findingtype"): jm.FindingType.objects.order_by("pk").first(),
            ("journey", "steptemplate"): jm.StepTemplate.objects.order_by("pk").first(),
            ("journey", "membership"): self.coordinator_a.memberships.get(),
            ("journey", "user"): self.guardian_a.user,
            ("auth", "group"): self.coordinator_a.groups.get(),
            ("otp_static", "staticdevice"): self.static_device_a,
            ("otp_totp", "totpdevice"): self.devices["coordinator_a"],
            ("axes", "accessattempt"): attempt,
            ("axes", "accessfailurelog"): failure,
            ("axes", "accesslog"): log,
            ("audit", "auditrecord"): AuditRecord.objects.filter(patient_id=self.child_a.pk)
            .order_by("pk")
            .first(),
            ("tracker", "labtest"): self.result_a.test,
            ("tracker", "labresult"): self.result_a,
            ("tracker", "scheduledlab"): self.lab_a,
            ("tracker", "worklist"): self.lab_a,
            ("tracker", "monitoringplan"): self.plan_a,
            ("tracker", "locallab"): self.local_lab_a,
            ("notifications", "reminder"): self.reminder_a,
            ("notifications", "preference"): self.preference_a,
            ("notifications", "centernotificationsettings"): self.center_settings_a,
            ("notifications", "textnumber"): self.text_number_a,
            ("notifications", "numberevent"): self.number_event_a,
            ("journey", "centercriterionsetting"): self.center_policy_a,
            ("reports", "symptomreport"): self.report_a,
            ("interfaces", "labsender"): lab_system,
            ("interfaces", "localcode"): local_code,
            ("interfaces", "inboundmessage"): message,
            ("interfaces", "inboundresult"): inbound,
            ("reports", "outsideresult"): self.outside_a,
            ("conversations", "thread"): self.thread_a,
            ("conversations", "businesshours"): self.hours_a,
            ("journey", "priorauthorization"): jm.PriorAuthorization.objects.create(
                journey=self.journey_a, status=jm.AuthorizationStatus.SUBMITTED
            ),
            ("journey", "followuprisk"): jm.FollowUpRisk.objects.create(
                patient=self.child_a, reason=jm.RiskReason.NO_ANSWER, marked_at=timezone.now()
            ),
            ("journey", "centertransfer"): _transfer_from(self.center_a, self.coordinator_a),
            ("journey", "careassignment"): jm.CareAssignment.objects.create(
                patient=self.child_a, coordinator=self.coordinator_a
            ),
            ("journey", "staffhandover"): staffing.hand_over(
                f.CoordinatorFactory(center=self.center_a),
                self.coordinator_a,
                by=self.coordinator_a,
                reason="left",
            ),
            ("journey", "guardianshiprestriction"): self.restriction_a,
            ("journey", "adultguardianship"): self.adult_a,
            ("journey", "agepolicy"): self.age_policy_a,
            ("journey", "agetransition"): self.age_step_a,
        }
        self.contact_check_a = jm.ContactConfirmation.objects.create(
            patient=self.child_a,
            guardian=self.guardian_a,
            reason=jm.CheckReason.YEARLY,
            requested_at=timezone.now(),
            answer_by=timezone.localdate(),
        )
        missing = [key for key, obj in self.objects.items() if obj is None]
        assert not missing, f"no object of family A / center A for {missing}"

    def _custody_rows(self):
        """A view-only guardian of child A, one a court order hides, and custody's rows."""
        role = jm.Guardianship.Role
        self.guardian_view = fpt.guardian_with_login(self.center_a, "vera@example.org")
        jm.Guardianship.objects.create(
            guardian=self.guardian_view, patient=self.child_a, role=role.VIEW_ONLY
        )
        self.guardian_hidden = fpt.guardian_with_login(self.center_a, "hugo@example.org")
        hidden = jm.Guardianship.objects.create(
            guardian=self.guardian_hidden, patient=self.child_a, role=role.CO_GUARDIAN
        )
        self.restriction_a = custody.restrict(
            hidden, kind=jm.RestrictionKind.NO_ACCESS, reason="Court order",
            document=SimpleUploadedFile("order.pdf", b"%PDF-1.4\n"), by=self.coordinator_a,
        )  # fmt: skip
        self.adult_a = custody.record_adult_guardianship(
            jm.Guardianship.objects.get(guardian=self.guardian_view),
            reason="Court appointment", by=self.coordinator_a,
            document=SimpleUploadedFile("appointment.pdf", b"%PDF-1.4\n"),
        )  # fmt: skip
        self.age_policy_a = jm.AgePolicy.objects.create(
            center=self.center_a, age_years=18, change=jm.AgeChange.PATIENT_ACCOUNT_HOLDER
        )
        self.age_step_a = jm.AgeTransition.objects.create(
            patient=self.child_a, change=jm.AgeChange.TEEN_ASSENT, age_years=12,
            birthday=dt.date(2038, 1, 1), step=jm.AgeStep.NOTICE_60, at=timezone.now(),
        )  # fmt: skip

    # -- URLs ----------------------------------------------------------------------------------

    def kwargs_for(self, key, route):
        """Fill every URL parameter of a pattern from family A's objects."""
        names = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route)
        names = [a or b for a, b in names]
        model = am.route_model(route)
        values = {
            "public_id": self.child_a.public_id,
            "journey_id": self.journey_a.pk,
            "review_id": self.review_a.pk,
            "plan_id": self.plan_a.pk,
            "lab_id": self.lab_a.public_id,
            "patient_id": self.child_a.pk,
            "check_id": self.check_a.public_id,
            "report_id": self.report_a.public_id,
            "center_id": self.center_a.public_id,
            "outside_id": self.outside_a.public_id,
            "thread_id": self.thread_a.public_id,
            "message_id": self.message_a.public_id,
            "pk": self.devices["coordinator_a"].pk,  # otp_totp config / qrcode
            "id": self.guardian_a.user.pk,  # the user's password page
            "app_label": "journey",
            "url": "no-such-page/",
            "content_type_id": ContentType.objects.get_for_model(jm.Patient).pk,
            "uidb64": urlsafe_base64_encode(force_bytes(self.guardian_a.user.pk)),
        }
        tokens = {
            "portal_tracker:feed": calendar.feed_token(self.feed_a),
            "portal_notifications:unsubscribe": self.unsubscribe_token,
            "accept_invitation": self.invitation_token,
            "password_reset_confirm": default_token_generator.make_token(self.guardian_a.user),
            "portal:contact_check": followup.confirmation_token(self.contact_check_a),
        }
        kwargs = {}
        for name in names:
            if name == "object_id":
                obj = self.child_a if key == "admin:view_on_site" else self.objects[model]
                kwargs[name] = obj.pk
            elif name == "pk" and model in self.objects:  # a model admin's own <int:pk> page
                kwargs[name] = self.objects[model].pk
            elif name == "token":
                kwargs[name] = tokens[key]
            else:
                kwargs[name] = values[name]
        return kwargs

    def url_for(self, key, route):
        kwargs = self.kwargs_for(key, route)
        if key == "admin:autocomplete":
            return (
                reverse(key)
                + "?app_label=journey&model_name=guardianship&field_name=guardian&term="
            )
        if key and "/" not in key:  # a named pattern; unnamed ones are keyed by their route
            return reverse(key, kwargs=kwargs)
        return "/" + _fill(route, kwargs)


def _lab_interface_rows(center):
    """Center A's lab system, one local code, and a message whose results wait unmatched."""
    from interfaces import processing
    from interfaces.inbox import receive_hl7
    from interfaces.models import LocalCode
    from tests.hl7_samples import liver, make_lab

    lab = make_lab(center)
    code = LocalCode.objects.create(
        sender=lab, code="ALTL", test=tm.LabTest.objects.get(code="ALT")
    )
    message, _answer = receive_hl7(liver(mrn="NOT-KNOWN"), "mllp")
    processing.process_message(message.pk)
    return lab, code, message, message.results.order_by("pk").first()


def _transfer_from(center, by):
    """A child of another family handed over from `center` to a third center."""
    moved = f.PatientFactory(center=center, first_name="Moved")
    return followup.transfer_patient(moved, f.CenterFactory(), by=by, reason="family moved")


def _preferences_salt():
    from notifications import emails

    return emails.PREFERENCES_SALT


def _fill(route, kwargs):
    """Substitute values into a route string ("<path:object_id>", "(?P<url>.*)$")."""
    for name, value in kwargs.items():
        route = re.sub(rf"\(\?P<{name}>[^)]*\)", str(value), route)
        route = re.sub(rf"<(?:\w+:)?{name}>", str(value), route)
    return route.replace("^", "").replace("$", "")
