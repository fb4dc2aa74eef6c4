"""The monitoring tracker: lab catalogue, versioned plans, scheduled draws and results.

A scheduled lab's status (upcoming, due, overdue, done, missed, cancelled) is derived from its
dates and timestamps, never stored: one rule, tracker.schedule.lab_status (Status lives there).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from journey.models import Sex

from . import schedule
from .holds import hold_text
from .models_center import CenteredQuerySet, CenteredRow
from .models_sites import DrawSiteChange, LocalLab, ResultSender, SiteChoice  # noqa: F401
from .schedule import Status

# A reference range is for one sex or for both ("": any). The sexes are journey's Sex; its
# UNKNOWN is a patient's "not recorded", never a range's.
RANGE_SEX_CHOICES = [("", _("Any")), (Sex.FEMALE, Sex.FEMALE.label), (Sex.MALE, Sex.MALE.label)]


class LabTest(models.Model):
    """One lab test of the catalogue (tracker/labs/catalogue.json, `manage.py load_labs`)."""

    code = models.SlugField(_("code"), max_length=10, unique=True)
    name = models.CharField(_("name"), max_length=100)
    family_name = models.CharField(_("name for families"), max_length=100)
    loinc = models.CharField(_("LOINC"), max_length=20)
    unit = models.CharField(_("canonical unit"), max_length=20)
    decimal_places = models.PositiveSmallIntegerField(_("decimals shown"), default=1)
    plausible_max = models.DecimalField(
        _("highest possible value"),
        max_digits=14,
        decimal_places=4,
        help_text=_("In the canonical unit; anything above is a typing error."),
    )
    critical_high_x_uln = models.DecimalField(
        _("critical above this multiple of the upper limit"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
    )
    limits_source = models.CharField(
        _("source of the possible limits"),
        max_length=300,
        blank=True,
        help_text=_("Where the highest possible value of each unit comes from."),
    )
    shows_x_uln = models.BooleanField(_("show the multiple of the upper limit"), default=False)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    note = models.CharField(_("note"), max_length=300, blank=True)
    source = models.CharField(_("source"), max_length=300)
    as_of = models.DateField(_("as of"))

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("lab test")
        verbose_name_plural = _("lab tests")

    def __str__(self):
        return f"{self.name} ({self.code})"


class LabUnit(models.Model):
    """A unit a result may be entered in: canonical value = value x multiply / divide."""

    test = models.ForeignKey(LabTest, on_delete=models.CASCADE, related_name="units")
    unit = models.CharField(_("unit"), max_length=20)
    multiply = models.DecimalField(_("multiply by"), max_digits=12, decimal_places=4, default=1)
    divide = models.DecimalField(_("divide by"), max_digits=12, decimal_places=4, default=1)
    # Checked against the number as typed, before any conversion (no arithmetic on 1e24).
    highest = models.DecimalField(
        _("highest possible value"),
        max_digits=18,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_("In this unit; anything above is refused as a typing error."),
    )

    class Meta:
        ordering = ["test", "pk"]
        verbose_name = _("accepted unit")
        verbose_name_plural = _("accepted units")
        constraints = [
            models.UniqueConstraint(fields=["test", "unit"], name="labunit_unique_test_unit"),
            models.CheckConstraint(
                condition=Q(multiply__gt=0) & Q(divide__gt=0), name="labunit_factors_positive"
            ),
        ]

    def __str__(self):
        return self.unit


class ReferenceRange(models.Model):
    """A reference interval for an age band (calendar months, exact) and, where it differs, sex."""

    test = models.ForeignKey(LabTest, on_delete=models.CASCADE, related_name="ranges")
    age_from_months = models.PositiveSmallIntegerField(_("from age (months, inclusive)"))
    age_to_months = models.PositiveSmallIntegerField(
        _("to age (months, exclusive)"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    sex = models.CharField(
        _("sex"), max_length=10, choices=RANGE_SEX_CHOICES, blank=True, default=""
    )
    low = models.DecimalField(_("low"), max_digits=12, decimal_places=4, null=True, blank=True)
    high = models.DecimalField(_("high"), max_digits=12, decimal_places=4, null=True, blank=True)
    critical_low = models.DecimalField(
        _("critical below"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    critical_high = models.DecimalField(
        _("critical above"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    source = models.CharField(_("source"), max_length=300)
    verified = models.BooleanField(_("verified"), default=True)

    class Meta:
        ordering = ["test", "age_from_months", "sex"]
        verbose_name = _("reference range")
        verbose_name_plural = _("reference ranges")
        constraints = [
            models.UniqueConstraint(
                fields=["test", "age_from_months", "sex"], name="range_unique_band"
            ),
            models.CheckConstraint(
                condition=Q(age_to_months__isnull=True)
                | Q(age_to_months__gt=models.F("age_from_months")),
                name="range_age_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.test.code} {self.age_from_months}-{self.age_to_months or ''} mo {self.sex}"


class MonitoringPlan(models.Model):
    """A journey's post-infusion plan, drawn from its therapy's label schedule."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    journey = models.OneToOneField(
        "journey.Journey", on_delete=models.CASCADE, related_name="monitoring_plan"
    )
    therapy = models.ForeignKey("journey.Therapy", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The label the plan is drawn from, copied: a later label edit reaches the plan only
    # through a PlanReview the coordinator applies (tracker.services.label_review).
    schedule = models.JSONField(_("label schedule drawn from"), default=list, editable=False)
    ltfu_years = models.PositiveSmallIntegerField(
        _("long-term follow-up (years) drawn from"), default=0, editable=False
    )
    label_as_of = models.DateField(_("label as of"), editable=False)
    schedule_digest = models.CharField(max_length=32, editable=False)
    # Where the family's draws happen unless a draw says otherwise (tracker.models_sites).
    default_lab = models.ForeignKey(
        "tracker.LocalLab",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("usual local lab"),
        help_text=_("Empty: the family's draws happen at the center."),
    )
    default_result_sender = models.CharField(
        _("who usually sends the result"),
        max_length=12,
        choices=ResultSender.choices,
        default=ResultSender.LAB_INTERFACE,
    )

    class Meta:
        verbose_name = _("monitoring plan")
        verbose_name_plural = _("monitoring plans")

    def __str__(self):
        return _("Plan for %(journey)s") % {"journey": self.journey}


class PlanVersion(models.Model):
    """Append-only: every (re)generation or edit that changed the plan, who, when and why."""

    plan = models.ForeignKey(MonitoringPlan, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    infusion_date = models.DateField(_("infusion date (day 0)"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("when"))
    reason = models.TextField(_("why"))
    changes = models.JSONField(_("what changed"), default=dict, blank=True)

    class Meta:
        ordering = ["plan", "-number"]
        verbose_name = _("plan version")
        verbose_name_plural = _("plan versions")
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="planversion_unique_number")
        ]

    def __str__(self):
        return _("version %(n)s") % {"n": self.number}


class ItemKind(models.TextChoices):
    LAB = "lab", _("Lab draw")
    VISIT = "visit", _("Visit")
    CHECKPOINT = "checkpoint", _("Checkpoint")


class PlanItem(models.Model):
    """One item of the label schedule (or the LTFU visits) copied into a plan."""

    plan = models.ForeignKey(MonitoringPlan, on_delete=models.CASCADE, related_name="items")
    code = models.SlugField(_("code"), max_length=60)
    kind = models.CharField(_("kind"), max_length=12, choices=ItemKind.choices)
    title = models.CharField(_("title"), max_length=200)
    tests = models.JSONField(_("tests"), default=list, blank=True)
    baseline = models.BooleanField(_("before infusion"), default=False)
    inpatient = models.BooleanField(_("inpatient (no family reminders)"), default=False)
    lifelong = models.BooleanField(_("lifelong"), default=False)
    note = models.CharField(_("note"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    segments = models.JSONField(_("label segments"), default=list, blank=True)
    continue_until_normal = models.JSONField(
        _("continue until normal"), null=True, blank=True, help_text=_("The exit rule, if any.")
    )
    extended_at = models.DateTimeField(_("extended since"), null=True, blank=True)
    extension_ended_at = models.DateTimeField(_("extension ended"), null=True, blank=True)
    extension_ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    extension_end_reason = models.TextField(_("why the extension ended"), blank=True)
    extension_closed_by_hand = models.BooleanField(
        _("extension closed by the care team"),
        default=False,
        help_text=_("Unticked: the rule ended it, and a corrected result may reopen it."),
    )
    held_open_by = models.JSONField(
        _("tests holding the rule open"),
        default=list,
        blank=True,
        help_text=_("Set each time the exit rule is judged; emptied when the extension ends."),
    )
    removed_at = models.DateTimeField(
        _("removed from the schedule"), null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["plan", "position", "code"]
        verbose_name = _("plan item")
        verbose_name_plural = _("plan items")
        constraints = [
            models.UniqueConstraint(fields=["plan", "code"], name="planitem_unique_code")
        ]
        indexes = [
            # Worklist "extended items": open extensions (extended, not ended).
            models.Index(
                fields=["extended_at"],
                condition=Q(extended_at__isnull=False, extension_ended_at__isnull=True),
                name="planitem_open_extension",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def extension_open(self):
        return self.extended_at is not None and self.extension_ended_at is None

    @property
    def held_open_text(self):
        """ "TBIL above range; INR: no result yet" (for the care team, never families)."""
        return "; ".join(hold_text(h) for h in self.held_open_by or [])


# Not done, missed or cancelled (tracker.schedule.open_q): the partial indexes' condition.
OPEN_Q = Q(done_at__isnull=True, missed_at__isnull=True, cancelled_at__isnull=True)


class ScheduledLabQuerySet(CenteredQuerySet):
    def open(self):
        """Not done, missed or cancelled: the rows a reschedule may move."""
        return self.filter(schedule.open_q())

    def with_status(self, today=None):
        """Annotate `status` (tracker.schedule.lab_status, in SQL)."""
        return self.annotate(status=schedule.status_case(today or timezone.localdate()))

    def overdue(self, today=None):
        return self.filter(schedule.status_q(Status.OVERDUE, today or timezone.localdate()))

    def due_between(self, start, end):
        """Open rows due (due_on) in [start, end]."""
        return self.open().filter(due_on__gte=start, due_on__lte=end)


class ScheduledLab(CenteredRow):
    """One dated occurrence of a plan item: a draw, a visit or a checkpoint.

    Dates are stored as offsets from day 0 too, so moving the infusion date recomputes them.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of their own: scheduledlab_unique_seq leads with the item and
    # scheduledlab_journey_window with the journey (one index fewer each to write).
    item = models.ForeignKey(
        PlanItem, on_delete=models.CASCADE, related_name="scheduled", db_index=False
    )
    # Denormalised from item.plan.journey: the worklist filters by center without four joins.
    journey = models.ForeignKey(
        "journey.Journey", on_delete=models.CASCADE, related_name="scheduled_labs", db_index=False
    )
    sequence = models.PositiveSmallIntegerField(_("number"))
    day_offset = models.IntegerField(_("day from infusion"), null=True, blank=True)
    month_offset = models.PositiveSmallIntegerField(
        _("calendar months from infusion"), null=True, blank=True
    )
    due_on = models.DateField(_("due on"))
    window_start = models.DateField(_("window opens"))
    window_end = models.DateField(_("window closes"))
    extension = models.BooleanField(_("added because results were abnormal"), default=False)
    moved_by_hand = models.BooleanField(
        _("moved by hand"),
        default=False,
        help_text=_("Keeps its own offset from day 0 when the plan is regenerated."),
    )
    version = models.ForeignKey(
        PlanVersion, on_delete=models.PROTECT, related_name="+", verbose_name=_("dated by version")
    )
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    missed_at = models.DateTimeField(_("closed as missed"), null=True, blank=True)
    missed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    missed_reason = models.TextField(_("why missed"), blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancel_reason = models.TextField(_("why cancelled"), blank=True)
    # Empty site: the plan's default (tracker.sites.place_for).
    site = models.CharField(
        _("site"), max_length=12, choices=SiteChoice.choices, blank=True, default=""
    )
    local_lab = models.ForeignKey(
        "tracker.LocalLab", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    result_sender = models.CharField(
        _("who sends the result"),
        max_length=12,
        choices=ResultSender.choices,
        blank=True,
        default="",
        help_text=_("Empty: the plan's usual sender."),
    )

    objects = ScheduledLabQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "item__position"]
        verbose_name = _("scheduled lab or visit")
        verbose_name_plural = _("scheduled labs and visits")
        constraints = [
            models.UniqueConstraint(fields=["item", "sequence"], name="scheduledlab_unique_seq"),
            models.CheckConstraint(
                condition=Q(window_start__lte=models.F("due_on"))
                & Q(due_on__lte=models.F("window_end")),
                name="scheduledlab_due_in_window",
            ),
            models.CheckConstraint(
                condition=Q(site=SiteChoice.LOCAL_LAB, local_lab__isnull=False)
                | (~Q(site=SiteChoice.LOCAL_LAB) & Q(local_lab__isnull=True)),
                name="scheduledlab_lab_iff_local",
            ),
        ]
        indexes = [
            # record_results: a journey's open rows around the collection day.
            models.Index(fields=["journey", "window_start"], name="scheduledlab_journey_window"),
            # A journey's open rows: a worklist page's draws are read with it (20 journeys and
            # their days), and the reminders sweep (a range of children's open journeys).
            models.Index(fields=["journey"], condition=OPEN_Q, name="scheduledlab_open_journey"),
            # Worklist "overdue" for one center (window_end < today): its own open rows only,
            # read from the index alone (hence the included columns), not its ~4,300 open
            # journeys probed one by one (~50,000 index entries at 100,000 patients).
            models.Index(
                fields=["center", "window_end"],
                include=["journey", "due_on", "window_start"],
                condition=OPEN_Q,
                name="scheduledlab_center_overdue",
            ),
            # Worklist "due in the next 7 days" for one center, the same way.
            models.Index(
                fields=["center", "due_on"],
                include=["journey", "window_end"],
                condition=OPEN_Q,
                name="scheduledlab_center_due",
            ),
        ]

    def __str__(self):
        return f"{self.item.title} #{self.sequence} ({self.due_on})"

    def status(self, today=None):
        """Derived status (tracker.schedule.lab_status); with_status() gives it in SQL."""
        return schedule.lab_status(self, today or timezone.localdate())

    @property
    def is_open(self):
        return schedule.closed_status(self) is None


class Worklist(ScheduledLab):
    """Proxy so the admin can list "Worklist" in the menu; its changelist is the worklist."""

    class Meta:
        proxy = True
        verbose_name = _("worklist")
        verbose_name_plural = _("worklist")


# Portal-only models live in their own module; imported here so Django registers them.
from .models_notes import FamilyNote, FamilyNoteRevision  # noqa: E402, F401
from .models_portal import CalendarFeed  # noqa: E402, F401
from .models_results import (  # noqa: E402, F401
    ABNORMAL_FLAGS,
    CRITICAL_FLAGS,
    CURRENT_Q,
    EARLIEST_COLLECTION,
    Flag,
    LabResult,
)
from .models_review import PlanReview, ReviewStatus  # noqa: E402, F401
