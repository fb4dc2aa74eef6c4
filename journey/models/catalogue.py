"""The therapy catalogue: label facts stored as data with their source and "as of" date.

A label change is an edit of these rows (in the admin, or of journey/catalogue/*.json and
`manage.py load_catalogue`), never of code.
"""

import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .journeys import Responsible, Stage


class Condition(models.Model):
    """A genetic disease a therapy treats (SMA, DMD...)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    genes = models.CharField(_("genes"), max_length=100, help_text=_("Comma-separated symbols."))

    class Meta:
        ordering = ["name"]
        verbose_name = _("condition")
        verbose_name_plural = _("conditions")

    def __str__(self):
        return self.name


class Delivery(models.TextChoices):
    IN_VIVO = "in_vivo", _("In vivo")
    EX_VIVO = "ex_vivo", _("Ex vivo")


class VectorType(models.TextChoices):
    AAV = "aav", _("AAV")
    LENTIVIRAL = "lentiviral", _("Lentiviral")
    GENOME_EDITED = "genome_edited", _("Genome-edited cells")
    RETROVIRAL = "retroviral", _("Gammaretroviral")
    HSV1 = "hsv1", _("HSV-1 (herpes simplex virus type 1)")


class MarketStatus(models.TextChoices):
    APPROVED = "approved", _("Approved")
    WITHDRAWN = "withdrawn", _("Withdrawn from market")
    SUSPENDED = "suspended", _("Suspended")


class Therapy(models.Model):
    """One product in the catalogue, with its label facts."""

    slug = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("brand name"), max_length=100, unique=True)
    generic_name = models.CharField(_("generic name"), max_length=200)
    conditions = models.ManyToManyField(Condition, related_name="therapies")
    delivery = models.CharField(_("delivery"), max_length=10, choices=Delivery.choices)
    vector_type = models.CharField(_("vector type"), max_length=20, choices=VectorType.choices)
    vector = models.CharField(_("vector"), max_length=60)
    route = models.CharField(_("route"), max_length=80)
    market_status = models.CharField(
        _("market status"), max_length=20, choices=MarketStatus.choices
    )
    market_note = models.CharField(_("market note"), max_length=300, blank=True)
    label_as_of = models.DateField(_("label as of"))
    source = models.TextField(_("source"))
    verified = models.BooleanField(
        _("verified"), default=True, help_text=_("Unticked: some facts still need checking.")
    )
    unverified_note = models.TextField(_("what still needs checking"), blank=True)
    ltfu_years = models.PositiveSmallIntegerField(_("long-term follow-up (years)"))
    observation_hours = models.PositiveSmallIntegerField(
        _("observation after infusion (hours)"), default=0
    )
    steroid_regimen = models.TextField(_("steroid regimen"), blank=True)
    family_notes = models.TextField(
        _("notes for the family"), blank=True, help_text=_("Shown on the family's plan.")
    )
    urgent_symptoms = models.JSONField(
        _("urgent symptoms"),
        default=list,
        blank=True,
        help_text=_('A list of {"en": "...", "es": "..."} lines: signs that mean "call now".'),
    )
    monitoring_schedule = models.JSONField(
        _("label monitoring schedule"),
        default=list,
        blank=True,
        help_text=_("The label's lab schedule as data; the monitoring plan is drawn from it."),
    )
    label_changes = models.JSONField(
        _("label changes"),
        default=list,
        blank=True,
        help_text=_(
            'Every corrected fact: a list of {"fact", "old", "new", "source", "as_of"}, '
            "so a reviewer sees what changed, from what, and on what evidence."
        ),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("therapy")
        verbose_name_plural = _("therapies")

    def __str__(self):
        return self.name

    @property
    def accepts_new_journeys(self):
        return self.market_status == MarketStatus.APPROVED


class ValueType(models.TextChoices):
    TITER = "titer", _("Titer (1:N)")
    NUMBER = "number", _("Number")
    YES_NO = "yes_no", _("Yes / no")
    CHOICE = "choice", _("One of a list")


_TITER = re.compile(r"^\s*1\s*:\s*(\d+(?:\.\d+)?)\s*$")
_YES = {"yes", "y", "true", "positive", "1", "si", "sí"}
_NO = {"no", "n", "false", "negative", "0"}


class FindingType(models.Model):
    """A kind of test result the eligibility rules read: a titer, ambulatory status..."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    value_type = models.CharField(_("value type"), max_length=10, choices=ValueType.choices)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    choices = models.JSONField(_("allowed values"), default=list, blank=True)
    validity_days = models.PositiveSmallIntegerField(
        _("valid for (days)"), default=90, help_text=_("Older results count as unknown: retest.")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("eligibility test type")
        verbose_name_plural = _("eligibility test types")

    def __str__(self):
        return self.name

    def parse(self, raw):
        """Return (clean text, number or None) for a typed value, or raise ValidationError."""
        text = str(raw).strip()
        parser = {
            ValueType.TITER: self._parse_titer,
            ValueType.NUMBER: self._parse_number,
            ValueType.YES_NO: self._parse_yes_no,
            ValueType.CHOICE: self._parse_choice,
        }[self.value_type]
        return parser(text)

    def _parse_titer(self, text):
        match = _TITER.match(text)
        if not match or Decimal(match.group(1)) <= 0:
            raise ValidationError(
                {"value": _("Write a titer as 1:N, for example 1:50 (got “%(v)s”).") % {"v": text}}
            )
        number = Decimal(match.group(1))
        return f"1:{number.normalize():f}", number

    def _parse_number(self, text):
        try:
            number = Decimal(text.replace(",", "."))
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or abs(number) >= Decimal("1e8"):
            raise ValidationError({"value": _("Enter a number, for example 1.5.")})
        return f"{number.normalize():f}", number

    def _parse_yes_no(self, text):
        lowered = text.lower()
        if lowered in _YES:
            return "yes", Decimal(1)
        if lowered in _NO:
            return "no", Decimal(0)
        raise ValidationError({"value": _("Answer yes or no.")})

    def _parse_choice(self, text):
        for option in self.choices:
            if option.lower() == text.lower():
                return option, None
        raise ValidationError(
            {"value": _("Choose one of: %(options)s.") % {"options": ", ".join(self.choices)}}
        )


class CriterionKind(models.TextChoices):
    MARKET = "market", _("Therapy is on the market")
    AGE_MIN = "age_min", _("Minimum age")
    AGE_UNDER = "age_under", _("Age limit (under)")
    SEX = "sex", _("Sex")
    DIAGNOSIS = "diagnosis", _("Confirmed genetic diagnosis")
    EXON_DELETION = "exon_deletion", _("Excluded exon deletions")
    FINDING = "finding", _("Test result")


class CriterionOrigin(models.TextChoices):
    """Where a criterion comes from; only the label's own criteria can exclude a child."""

    LABEL = "label", _("Product label")
    PAYER = "payer", _("Payer rule")
    TRIAL = "trial", _("Trial criterion")
    CENTER = "center", _("Center policy")


class EligibilityCriterion(models.Model):
    """One rule of a therapy's eligibility, evaluated by journey.eligibility.

    `origin`: a not-met label criterion makes the child not eligible; a payer or trial rule
    gives "meets the label; payer rule not met"; a center-policy rule applies only at centers
    that turned it on (CenterCriterionSetting). See docs/eligibility.md.

    `params` by kind (see docs/eligibility.md):
      age_min / age_under: {"years": 4} or {"months": 12}
      sex: {"sex": "male"}
      diagnosis: {"genes": ["SMN1"], "biallelic": true}
      exon_deletion: {"excluded": [[8, 9]], "flagged": [[1, 17], [59, 71]]}
      finding: {"finding": "anti_aav9_titer", "op": "le", "value": 50}
               ops: lt le gt ge eq in between; "in" takes a list, "between" [low, high]
    """

    therapy = models.ForeignKey(Therapy, on_delete=models.CASCADE, related_name="criteria")
    code = models.SlugField(_("code"), max_length=60)
    kind = models.CharField(_("kind"), max_length=20, choices=CriterionKind.choices)
    label = models.CharField(_("what it checks"), max_length=300)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    validity_days = models.PositiveSmallIntegerField(
        _("evidence valid for (days)"),
        null=True,
        blank=True,
        help_text=_("Empty: the test type's own validity."),
    )
    retest_after_days = models.PositiveSmallIntegerField(
        _("suggest a retest after (days)"), null=True, blank=True
    )
    postpone_only = models.BooleanField(
        _("postpone, not exclude"),
        default=False,
        help_text=_("Not met means 'wait and recheck' (active infection), not 'never'."),
    )
    verified = models.BooleanField(_("verified"), default=True)
    source = models.CharField(_("source"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    origin = models.CharField(
        _("origin"),
        max_length=10,
        choices=CriterionOrigin.choices,
        default=CriterionOrigin.LABEL,
        help_text=_("Only product-label criteria can make a child not eligible."),
    )
    origin_note = models.CharField(
        _("whose rule"),
        max_length=200,
        blank=True,
        help_text=_("The payer or trial, e.g. “most US payers” or “CLIMB-121”."),
    )

    class Meta:
        ordering = ["therapy", "position", "code"]
        verbose_name = _("eligibility criterion")
        verbose_name_plural = _("eligibility criteria")
        constraints = [
            models.UniqueConstraint(fields=["therapy", "code"], name="criterion_unique_code"),
            models.CheckConstraint(
                condition=Q(kind__in=CriterionKind.values), name="criterion_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(origin__in=CriterionOrigin.values), name="criterion_origin_valid"
            ),
        ]

    def __str__(self):
        return f"{self.therapy}: {self.label}"


class StepTemplate(models.Model):
    """A checklist step every journey in a stage gets, unless filtered by therapy or vector."""

    stage = models.CharField(_("stage"), max_length=30, choices=Stage.choices)
    code = models.SlugField(_("code"), max_length=60, unique=True)
    title = models.CharField(_("title"), max_length=200)
    responsible = models.CharField(_("who does it"), max_length=20, choices=Responsible.choices)
    required = models.BooleanField(_("required to move on"), default=True)
    due_after_days = models.PositiveSmallIntegerField(
        _("due (days after the stage starts)"), default=14
    )
    delivery = models.CharField(
        _("only for delivery"), max_length=10, choices=Delivery.choices, blank=True
    )
    vector_type = models.CharField(
        _("only for vector type"), max_length=20, choices=VectorType.choices, blank=True
    )
    therapies = models.ManyToManyField(
        Therapy,
        blank=True,
        related_name="step_templates",
        help_text=_("Empty: every therapy (after the delivery and vector filters)."),
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("checklist step template")
        verbose_name_plural = _("checklist step templates")

    def __str__(self):
        return self.title

    def applies_to(self, therapy, therapy_ids_for_template):
        """Whether this step belongs on a journey for `therapy` (None: no therapy yet)."""
        if therapy is None:
            return not (self.delivery or self.vector_type or therapy_ids_for_template)
        if self.delivery and self.delivery != therapy.delivery:
            return False
        if self.vector_type and self.vector_type != therapy.vector_type:
            return False
        return not therapy_ids_for_template or therapy.pk in therapy_ids_for_template
