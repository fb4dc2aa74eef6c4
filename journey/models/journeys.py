"""A child's journey through the stages, its checklist, history and eligibility checks."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    DIAGNOSIS_CONFIRMED = "diagnosis_confirmed", _("Diagnosis confirmed")
    PRE_TREATMENT = "pre_treatment", _("Pre-treatment evaluation")
    INSURANCE = "insurance", _("Insurance and access")
    INFUSION_SCHEDULED = "infusion_scheduled", _("Infusion scheduled")
    INFUSION = "infusion", _("Infusion")
    MONITORING = "monitoring", _("Post-infusion monitoring")
    FOLLOW_UP = "follow_up", _("Long-term follow-up")
    CLOSED = "closed", _("Closed (follow-up completed)")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible")


STAGE_ORDER = [
    Stage.DIAGNOSIS_CONFIRMED,
    Stage.PRE_TREATMENT,
    Stage.INSURANCE,
    Stage.INFUSION_SCHEDULED,
    Stage.INFUSION,
    Stage.MONITORING,
    Stage.FOLLOW_UP,
]
EXIT_STAGES = [Stage.CLOSED, Stage.WITHDRAWN, Stage.NOT_ELIGIBLE]
OPEN_STAGES = list(STAGE_ORDER)


class Responsible(models.TextChoices):
    COORDINATOR = "coordinator", _("Care team")
    FAMILY = "family", _("Family")
    CLINIC = "clinic", _("Clinic")
    PAYER = "payer", _("Insurance")


class Journey(models.Model):
    """One child's path to and after one therapy. The stage changes only via move_stage."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "journey.Patient", on_delete=models.PROTECT, related_name="journeys"
    )
    center = models.ForeignKey("journey.Center", on_delete=models.PROTECT, related_name="journeys")
    therapy = models.ForeignKey(
        "journey.Therapy",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="journeys",
        verbose_name=_("therapy"),
    )
    stage = models.CharField(
        _("stage"),
        max_length=30,
        choices=Stage.choices,
        default=Stage.DIAGNOSIS_CONFIRMED,
        editable=False,
    )
    stage_entered_at = models.DateTimeField(_("in this stage since"), editable=False)
    infusion_date = models.DateField(_("infusion date"), null=True, blank=True, editable=False)
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("journey")
        verbose_name_plural = _("journeys")
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(stage__in=OPEN_STAGES),
                name="journey_one_open_per_patient",
                violation_error_message=_("This child already has an open journey."),
            ),
            models.CheckConstraint(condition=Q(stage__in=Stage.values), name="journey_stage_valid"),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | ~Q(stage__in=OPEN_STAGES),
                name="journey_closed_only_when_exited",
            ),
            # What the tracker's rows that copy the journey's center refer to: on PostgreSQL
            # their (journey, center) is a foreign key to it (tracker migration 0015), so the
            # copy is always the journey's center and a transfer's move cascades to it.
            models.UniqueConstraint(fields=["id", "center"], name="journey_id_center"),
        ]
        indexes = [
            # Admin lists and sweeps: one center's journeys in a stage. With the id, a center's
            # open journeys are read from the index alone: the worklist hashes them (~4,300 at
            # 100,000 patients) for each list, 0.9 ms instead of 4 from the table.
            models.Index(fields=["center", "stage"], include=["id"], name="journey_center_stage"),
        ]

    def __str__(self):
        therapy = self.therapy.name if self.therapy_id else _("therapy not chosen")
        return f"{self.patient} – {therapy}"

    @property
    def is_open(self):
        return self.stage in OPEN_STAGES


class StageChange(models.Model):
    """An append-only record of one stage move: from, to, who, when and why."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=30, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=30, choices=Stage.choices)
    moved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    moved_at = models.DateTimeField()
    reason = models.TextField()
    override_reason = models.TextField(
        blank=True, help_text=_("Why required steps were skipped, when they were.")
    )
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["journey", "moved_at", "pk"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage history")
        indexes = [models.Index(fields=["journey", "moved_at"], name="stagechange_journey_time")]

    def __str__(self):
        return f"{self.get_from_stage_display() or '–'} → {self.get_to_stage_display()}"


class ChecklistStep(models.Model):
    """A step of a stage for one journey: who does it, when it is due, when it was done."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="steps")
    template = models.ForeignKey(
        "journey.StepTemplate", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    code = models.SlugField(max_length=60)
    stage = models.CharField(_("stage"), max_length=30, choices=Stage.choices)
    title = models.CharField(_("step"), max_length=200)
    responsible = models.CharField(_("who does it"), max_length=20, choices=Responsible.choices)
    required = models.BooleanField(_("required to move on"), default=True)
    position = models.PositiveSmallIntegerField(default=0)
    due_on = models.DateField(_("due"), null=True, blank=True)
    done_on = models.DateField(_("done on"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("done by"),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["journey", "position", "code"]
        verbose_name = _("checklist step")
        verbose_name_plural = _("checklist steps")
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "code"],
                name="step_unique_code",
                violation_error_message=_("This journey already has a step with this code."),
            ),
            models.CheckConstraint(
                condition=Q(done_by__isnull=True) | Q(done_on__isnull=False),
                name="step_done_by_needs_date",
            ),
        ]
        indexes = [
            # Reminders and the worklist: open steps due soon.
            models.Index(
                fields=["due_on"], condition=Q(done_on__isnull=True), name="step_open_due"
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_done(self):
        return self.done_on is not None


class Verdict(models.TextChoices):
    ELIGIBLE = "eligible", _("Eligible")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible")
    INCOMPLETE = "incomplete", _("Incomplete: data missing")
    PAYER_RULE_NOT_MET = "label_met_payer_rule_not_met", _("Meets the label; payer rule not met")
    CENTER_POLICY_NOT_MET = (
        "label_met_center_policy_not_met",
        _("Meets the label; center policy not met"),
    )


class EligibilityCheck(models.Model):
    """A saved run of the eligibility rules: who, when, the inputs it saw and the result."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    journey = models.ForeignKey(
        Journey, on_delete=models.CASCADE, related_name="eligibility_checks"
    )
    therapy = models.ForeignKey("journey.Therapy", on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField(_("as of"))
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    run_at = models.DateTimeField()
    verdict = models.CharField(_("verdict"), max_length=40, choices=Verdict.choices)
    results = models.JSONField(default=list)
    inputs = models.JSONField(default=dict)

    class Meta:
        ordering = ["-run_at"]
        verbose_name = _("eligibility check")
        verbose_name_plural = _("eligibility checks")
        indexes = [models.Index(fields=["journey", "-run_at"], name="eligibility_latest")]
        constraints = [
            models.CheckConstraint(
                condition=Q(verdict__in=Verdict.values), name="eligibilitycheck_verdict_valid"
            ),
        ]

    def __str__(self):
        return f"{self.therapy} {self.as_of}: {self.get_verdict_display()}"


class InfusionDateChange(models.Model):
    """An append-only record of each change of the infusion date."""

    journey = models.ForeignKey(
        Journey, on_delete=models.CASCADE, related_name="infusion_date_changes"
    )
    old_date = models.DateField(null=True, blank=True)
    new_date = models.DateField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    changed_at = models.DateTimeField()
    reason = models.TextField()

    class Meta:
        ordering = ["journey", "changed_at", "pk"]
        verbose_name = _("infusion date change")
        verbose_name_plural = _("infusion date changes")

    def __str__(self):
        return f"{self.old_date or '–'} → {self.new_date or '–'}"
