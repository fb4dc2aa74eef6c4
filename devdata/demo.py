"""Demo data for `manage.py seed_demo`: centers and families (demo_results adds the results).

Every date is relative to today, so the demo always has something due tomorrow, something
overdue and a recent result. Running it twice changes nothing: rows are found by stable keys,
never by names a coordinator may edit (people by email, centers and children by a fixed
public id), and a child's journey is only built when the child has none. The journeys' stage
history is entered as past (days ago), as a coordinator back-filling it would: it sends no
"new stage" email.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from journey import services
from journey.ages import birthday
from journey.catalogue import load_catalogue
from journey.models import (
    STAGE_ORDER,
    AuthorizationStatus,
    Center,
    Condition,
    Diagnosis,
    Finding,
    FindingType,
    Guardian,
    Guardianship,
    InsuranceCoverage,
    Membership,
    Patient,
    PriorAuthorization,
    Stage,
    Therapy,
    User,
)
from journey.roles import COORDINATOR_GROUP, sync_coordinator_group
from notifications import custody as age_notices

DEMO_REASON = "Demo data"
DEMO_NAMESPACE = uuid.UUID("6f1b7c52-2d7e-4c1e-9a53-0d3e5f7a9b21")
HISTORY_STEP = timedelta(days=3)  # between two demo stage moves


def demo_id(key):
    """The fixed public id of a demo center or child: how a re-run finds it after a rename."""
    return uuid.uuid5(DEMO_NAMESPACE, key)


@dataclass(frozen=True)
class Child:
    first_name: str
    last_name: str
    age_days: int
    sex: str
    condition: str
    gene: str
    variant: str
    therapy: str
    stage: str
    infusion_in_days: int | None = None
    key: str = ""  # stable: the child's demo_id, whatever the name becomes
    turns_18_in_days: int | None = None  # born so that 18 falls this many days after seeding


CENTERS = {
    "a": dict(
        name="Riverside Children's Hospital – Gene Therapy Program",
        time_zone="America/New_York",
        main_phone="+1 (555) 010-2000",
        after_hours_phone="+1 (555) 010-2999",
    ),
    "b": dict(
        name="Northgate Paediatric Centre",
        time_zone="Europe/London",
        main_phone="+44 20 7946 0100",
        after_hours_phone="+44 20 7946 0199",
    ),
}

FAMILIES = [
    # (center, guardian email, guardian name, time zone, login?, children)
    (
        "a",
        "parent@example.org",
        "Ana Rivera",
        "America/Chicago",
        True,
        [
            Child(
                "Maya",
                "Rivera",
                300,
                "female",
                "sma",
                "SMN1",
                "c.840C>T homozygous exon 7 deletion",
                "zolgensma",
                Stage.MONITORING,
                -20,
                key="child-a1",
            ),
        ],
    ),
    (
        "a",
        "parent2@example.org",
        "Sam Okafor",
        "America/New_York",
        True,
        [
            Child(
                "Leo",
                "Okafor",
                365 * 5 + 40,
                "male",
                "dmd",
                "DMD",
                "deletion of exons 45-50",
                "elevidys",
                Stage.PRE_TREATMENT,
                key="child-a2",
            ),
            # 18 in 45 days: the age-policy notice (parents' access ends unless an adult
            # guardianship is recorded) shows on "Who can see this" and in both outboxes.
            Child(
                "Nia",
                "Okafor",
                0,
                "female",
                "scd",
                "HBB",
                "HbSS (c.20A>T homozygous)",
                "casgevy",
                Stage.INSURANCE,
                key="child-a3",
                turns_18_in_days=45,
            ),
        ],
    ),
    (
        "b",
        "family.b@example.org",
        "Priya Shah",
        "Europe/London",
        False,
        [
            Child(
                "Arjun",
                "Shah",
                365 * 14,
                "male",
                "scd",
                "HBB",
                "HbSS (c.20A>T homozygous)",
                "casgevy",
                Stage.INSURANCE,
                key="child-b1",
            ),
        ],
    ),
]


def _user(email, password, **fields):
    """The demo login with this email, its password reset to the one the command prints."""
    user, _ = User.objects.get_or_create(email=email, defaults=fields)
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def _keyed(model, key, legacy, defaults):
    """The row with public id demo_id(key); one seeded before the keys existed is found by
    `legacy` (its old look-up) once and given the key."""
    public_id = demo_id(key)
    row = model.objects.filter(public_id=public_id).first()
    if row is None:
        row = model.objects.filter(**legacy).first()
        if row is not None:
            model.objects.filter(pk=row.pk).update(public_id=public_id)
            row.public_id = public_id
    if row is None:
        row = model.objects.create(public_id=public_id, **legacy, **defaults)
    return row


def _centers():
    return {
        key: _keyed(
            Center,
            f"center-{key}",
            {"name": data["name"]},
            {field: value for field, value in data.items() if field != "name"},
        )
        for key, data in CENTERS.items()
    }


def _staff(centers, password):
    group = Group.objects.filter(name=COORDINATOR_GROUP).first() or sync_coordinator_group()
    admin = _user(
        "admin@example.org",
        password,
        full_name="Demo Administrator",
        is_staff=True,
        is_superuser=True,
    )
    coordinators = {}
    for key, email, name in [
        ("a", "coordinator@example.org", "Casey Morgan"),
        ("b", "coordinator.b@example.org", "Jordan Blake"),
    ]:
        user = _user(
            email, password, full_name=name, is_staff=True, time_zone=centers[key].time_zone
        )
        user.groups.add(group)
        Membership.objects.get_or_create(user=user, center=centers[key])
        coordinators[key] = user
    for user in [admin, *coordinators.values()]:
        _demo_authenticator(user)
    return admin, coordinators


DEMO_DEVICE = "Demo authenticator"


def _demo_authenticator(user):
    """Staff reach the admin only with a second factor; the demo gives each staff login a
    confirmed TOTP device whose current code `manage.py demo_code` prints (DEBUG only)."""
    TOTPDevice.objects.get_or_create(user=user, name=DEMO_DEVICE, defaults={"confirmed": True})


def _guardian(center, email, name, tz, with_login, password):
    user = _user(email, password, full_name=name, time_zone=tz) if with_login else None
    guardian, _ = Guardian.objects.get_or_create(
        email=email, defaults=dict(center=center, full_name=name, time_zone=tz, user=user)
    )
    return guardian


def _patient(center, guardian, child, today):
    legacy = dict(center=center, first_name=child.first_name, last_name=child.last_name)
    born = today - timedelta(days=child.age_days)
    if child.turns_18_in_days is not None:
        born = birthday(today + timedelta(days=child.turns_18_in_days), -18)
    defaults = dict(date_of_birth=born, sex=child.sex)
    patient = _keyed(Patient, child.key, legacy, defaults)
    Guardianship.objects.get_or_create(
        guardian=guardian,
        patient=patient,
        defaults=dict(
            relationship=Guardianship.Relationship.MOTHER, role=Guardianship.Role.PRIMARY
        ),
    )
    return patient


def _diagnosis(patient, child, today, by):
    if patient.diagnoses.exists():
        return
    Diagnosis.objects.create(
        patient=patient,
        condition=Condition.objects.get(code=child.condition),
        gene=child.gene,
        variant=child.variant,
        zygosity=Diagnosis.Zygosity.HOMOZYGOUS,
        variant_kind=Diagnosis.VariantKind.DELETION,
        confirmed_by=Diagnosis.Method.GENOME,
        confirmed_on=today - timedelta(days=60),
        lab="Demo Genomics Laboratory",
        recorded_by=by,
    )


def _recent_finding(patient, therapy, today, by):
    """A recent antibody titer, so the eligibility check has fresh evidence to show."""
    codes = [c.params.get("finding") for c in therapy.criteria.filter(kind="finding")]
    titer = FindingType.objects.filter(code__in=codes, value_type="titer").first()
    if titer and not patient.findings.filter(finding_type=titer).exists():
        Finding.objects.create(
            patient=patient,
            finding_type=titer,
            value="1:25",
            value_number=25,
            observed_on=today - timedelta(days=3),
            recorded_by=by,
        )


def _stages(child):
    return STAGE_ORDER[1 : STAGE_ORDER.index(child.stage) + 1]


def _history(child, today):
    """When the journey opened and each move happened: past instants, HISTORY_STEP apart,
    the last one yesterday (for an infused child: the day after the infusion)."""
    last = today - timedelta(days=1)
    if child.infusion_in_days is not None and child.infusion_in_days < 0:
        last = today + timedelta(days=child.infusion_in_days + 1)
    end = timezone.make_aware(datetime.combine(last, time(10)))
    moves = len(_stages(child))
    return [end - HISTORY_STEP * (moves - i) for i in range(moves + 1)]


def _walk_to_stage(journey, child, by, today, history):
    """Move the journey up to the child's demo stage at its past instants, ticking steps."""
    for stage, at in zip(_stages(child), history[1:], strict=True):
        journey.steps.filter(stage=journey.stage, done_on__isnull=True).update(
            done_on=timezone.localdate(at), done_by=by
        )
        if stage == Stage.INFUSION_SCHEDULED:
            _approve(journey, timezone.localdate(at), child, today)
        if stage == Stage.INFUSION_SCHEDULED and child.infusion_in_days is not None:
            day0 = today + timedelta(days=child.infusion_in_days)
            services.set_infusion_date(journey, day0, by=by, reason=DEMO_REASON, now=at)
        services.move_stage(journey, stage, by=by, reason=DEMO_REASON, now=at)


def _approve(journey, decided, child, today):
    """The payer's approval the move to "infusion scheduled" needs: from the day of the move
    to half a year after the infusion (or today)."""
    day0 = today + timedelta(days=child.infusion_in_days or 0)
    payer = InsuranceCoverage.objects.create(journey=journey, payer="Demo Health Plan")
    PriorAuthorization.objects.create(
        journey=journey,
        coverage=payer,
        status=AuthorizationStatus.APPROVED,
        submitted_on=decided,
        decision_on=decided,
        approval_number=f"DEMO-{journey.pk}",
        approved_until=max(day0, decided) + timedelta(days=180),
        units=1,
    )


def _date_open_steps(journey, today):
    """One open step due tomorrow and one overdue, relative to today."""
    open_steps = list(journey.steps.filter(stage=journey.stage, done_on__isnull=True)[:2])
    for step, offset in zip(open_steps, (1, -3), strict=False):
        step.due_on = today + timedelta(days=offset)
        step.save(update_fields=["due_on"])


def _journey(patient, child, by, today):
    if patient.journeys.exists():
        return patient.journeys.first()
    therapy = Therapy.objects.get(slug=child.therapy)
    history = _history(child, today)
    journey = services.open_journey(
        patient, by=by, therapy=therapy, reason=DEMO_REASON, now=history[0]
    )
    _recent_finding(patient, therapy, today, by)
    services.run_eligibility(journey, by=by)
    _walk_to_stage(journey, child, by, today, history)
    _date_open_steps(journey, today)
    return journey


@transaction.atomic
def seed_demo(password):
    """Build (or find) the demo; returns the logins to print."""
    load_catalogue()
    today = timezone.localdate()
    centers = _centers()
    admin, coordinators = _staff(centers, password)
    for key, email, name, tz, with_login, children in FAMILIES:
        guardian = _guardian(centers[key], email, name, tz, with_login, password)
        for child in children:
            patient = _patient(centers[key], guardian, child, today)
            _diagnosis(patient, child, today, coordinators[key])
            _journey(patient, child, coordinators[key], today)
    _lab_system(centers["a"])
    age_notices.age_transitions()  # Nia's notice, told now (a re-run adds nothing)
    return logins(centers)


def _lab_system(center):
    """A lab system allowed to send HL7 results to center A (make demo runs the listener on
    port 2575; docs/interfaces.md). Demo children have no record number, so what it sends
    waits in the worklist's unmatched queue for the coordinator to match."""
    from interfaces.models import LabSender

    LabSender.objects.get_or_create(
        sending_facility="DEMO-LAB",
        defaults={
            "center": center,
            "name": "Demo hospital lab",
            "assigning_authority": "DEMO-MRN",
            "time_zone": center.time_zone,
        },
    )


STAFF, FAMILY = "admin", "portal"


def logins(centers):
    """(email, where it logs in: STAFF or FAMILY, what it is for), for the printout."""
    a, b = centers["a"].name, centers["b"].name
    return [
        ("admin@example.org", STAFF, "superuser: every center, the catalogues and accounts"),
        ("coordinator@example.org", STAFF, f"coordinator at {a}: worklist, results, journeys"),
        ("coordinator.b@example.org", STAFF, f"coordinator at {b} (sees only its families)"),
        ("parent@example.org", FAMILY, "Maya's parent: monitoring after infusion, lab dates"),
        ("parent2@example.org", FAMILY, "Leo's parent: pre-treatment checklist and steps"),
    ]
